using Microsoft.Extensions.AI;

namespace Vec.Embed;

/// <summary>
/// Base of every VecRec text encoder: turns texts into row-major <c>count x Dimension</c> <see cref="float"/> rows and
/// implements Microsoft.Extensions.AI <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/> on top of that.
/// </summary>
/// <remarks>
/// <para>Encoders are safe for concurrent calls once constructed (and, for encoders that are fitted, once fitted).</para>
/// <para>The span API (<see cref="Encode(IReadOnlyList{string}, Span{float}, CancellationToken)"/>) writes into the
/// caller's buffer; the generator API allocates one array per text. Whether rows are L2-normalised depends on the
/// encoder and its options (<see cref="Normalized"/>).</para>
/// </remarks>
public abstract class TextEncoder : IEmbeddingGenerator<string, Embedding<float>>
{
    private int _disposed;

    /// <summary>Length of every output row.</summary>
    public abstract int Dimension { get; }

    /// <summary>Identifier of the model (a model folder name, <c>hashing-tfidf-…</c>, a word-vector file name).</summary>
    public abstract string ModelId { get; }

    /// <summary>Whether output rows are L2-normalised (so inner product equals cosine similarity).</summary>
    public abstract bool Normalized { get; }

    /// <summary>
    /// Encodes <paramref name="texts"/> into <paramref name="destination"/>, row <c>i</c> at
    /// <c>[i * Dimension, (i + 1) * Dimension)</c>.
    /// </summary>
    /// <param name="texts">The texts; none may be <see langword="null"/>. Empty and whitespace-only texts are allowed.</param>
    /// <param name="destination">At least <c>texts.Count * Dimension</c> floats.</param>
    /// <param name="cancellationToken">Checked between batches.</param>
    /// <exception cref="ArgumentNullException"><paramref name="texts"/> or one of its elements is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short.</exception>
    public void Encode(IReadOnlyList<string> texts, Span<float> destination, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ThrowIfDisposed();
        for (int i = 0; i < texts.Count; i++)
        {
            if (texts[i] is null)
            {
                throw new ArgumentNullException(nameof(texts), $"Text {i} is null.");
            }
        }

        long needed = (long)texts.Count * Dimension;
        if (destination.Length < needed)
        {
            throw new ArgumentException($"Destination holds {destination.Length} floats but {texts.Count} texts x {Dimension} need {needed}.", nameof(destination));
        }

        if (texts.Count == 0)
        {
            return;
        }

        cancellationToken.ThrowIfCancellationRequested();
        EncodeCore(texts, destination[..(int)needed], cancellationToken);
    }

    /// <summary>Encodes <paramref name="texts"/> into a new row-major <c>texts.Count x Dimension</c> array.</summary>
    /// <param name="texts">The texts; none may be <see langword="null"/>.</param>
    /// <param name="cancellationToken">Checked between batches.</param>
    /// <returns>The rows.</returns>
    public float[] Encode(IReadOnlyList<string> texts, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var result = new float[(long)texts.Count * Dimension];
        Encode(texts, result, cancellationToken);
        return result;
    }

    /// <summary>Encodes one text.</summary>
    /// <param name="text">The text.</param>
    /// <returns>One row of <see cref="Dimension"/> floats.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
    public float[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Encode([text]);
    }

    /// <summary>
    /// Encodes a non-empty, validated list into <paramref name="destination"/> (exactly <c>texts.Count * Dimension</c>).
    /// </summary>
    /// <param name="texts">Non-empty; no null elements.</param>
    /// <param name="destination">Exactly <c>texts.Count * Dimension</c> floats.</param>
    /// <param name="cancellationToken">Checked between batches.</param>
    protected abstract void EncodeCore(IReadOnlyList<string> texts, Span<float> destination, CancellationToken cancellationToken);

    /// <inheritdoc />
    public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        ThrowIfDisposed();
        if (options?.Dimensions is int wanted && wanted != Dimension)
        {
            throw new ArgumentException($"This encoder produces {Dimension}-dimensional embeddings; {wanted} were asked for.", nameof(options));
        }

        if (options?.ModelId is string modelId && !string.Equals(modelId, ModelId, StringComparison.Ordinal))
        {
            throw new ArgumentException($"This generator serves model '{ModelId}', not '{modelId}'.", nameof(options));
        }

        IReadOnlyList<string> texts = values as IReadOnlyList<string> ?? values.ToArray();
        // Encoding is CPU-bound and synchronous underneath; run it off the caller's thread so async callers stay responsive.
        float[] rows = await Task.Run(() => Encode(texts, cancellationToken), cancellationToken).ConfigureAwait(false);
        var created = DateTimeOffset.UtcNow;
        var result = new GeneratedEmbeddings<Embedding<float>>(texts.Count);
        int d = Dimension;
        for (int i = 0; i < texts.Count; i++)
        {
            result.Add(new Embedding<float>(new ReadOnlyMemory<float>(rows, i * d, d)) { ModelId = ModelId, CreatedAt = created });
        }

        return result;
    }

    /// <inheritdoc />
    public virtual object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null)
        {
            return null;
        }

        if (serviceType == typeof(EmbeddingGeneratorMetadata))
        {
            return new EmbeddingGeneratorMetadata("vecrec", null, ModelId, Dimension);
        }

        return serviceType.IsInstanceOfType(this) ? this : null;
    }

    /// <summary>Throws <see cref="ObjectDisposedException"/> once the encoder is disposed.</summary>
    protected void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

    /// <inheritdoc />
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            Dispose(true);
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>Releases resources held by the encoder.</summary>
    /// <param name="disposing">True when called from <see cref="Dispose()"/>.</param>
    protected virtual void Dispose(bool disposing)
    {
    }
}
