using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.Tokenizers;
using Vec.Kernels;

namespace Vec.Embed;

/// <summary>
/// A sentence-transformers model run with ONNX Runtime: WordPiece through Microsoft.ML.Tokenizers'
/// <see cref="BertTokenizer"/>, dynamic padding, the transformer in ONNX Runtime, then pooling and L2 normalisation
/// through <see cref="IVectorKernels"/>. Faithful to sentence-transformers' <c>encode</c>.
/// </summary>
/// <remarks>
/// <para><b>Batching.</b> Texts are tokenised and truncated to <see cref="MaxSequenceLength"/> tokens (with
/// <c>[CLS]</c> and <c>[SEP]</c>), sorted by token count (longest first, as sentence-transformers does) inside windows of
/// <see cref="OnnxEncoderOptions.SortWindow"/> texts, cut into batches of <see cref="OnnxEncoderOptions.BatchSize"/>, and
/// each batch is padded only to its own longest text. Rows are written back in the caller's order. Padding is masked
/// out of pooling, so a text's embedding does not depend on its batch beyond float rounding in ONNX Runtime.</para>
/// <para><b>Buffers.</b> Token, mask and hidden-state buffers live in per-call workspaces that are pooled and reused, and
/// ONNX Runtime writes the hidden states straight into them; steady-state encoding allocates only the tokenizer's id
/// lists and small ONNX Runtime value handles.</para>
/// <para><b>Concurrency.</b> One <see cref="InferenceSession"/> serves every call; concurrent calls each take their
/// own workspace. Dispose only when no call is running.</para>
/// </remarks>
public sealed class OnnxTextEncoder : TextEncoder
{
    private readonly InferenceSession _session;
    private readonly BertTokenizer _tokenizer;
    private readonly IVectorKernels _kernels;
    private readonly bool _ownsKernels;
    private readonly string[] _inputNames;
    private readonly int _idsInput;
    private readonly int _maskInput;
    private readonly int _typesInput;
    private readonly string[] _outputNames;
    private readonly bool _outputIsPooled;
    private readonly int _dimension;
    private readonly int _batchSize;
    private readonly int _maxBatchTokens;
    private readonly int _concurrentBatches;
    private readonly int _sortWindow;
    private readonly bool _dynamicPadding;
    private readonly ConcurrentBag<Workspace> _workspaces = new();
    private readonly ILogger _logger;
    private long _tokenizeTicks;
    private long _runTicks;
    private long _poolTicks;
    private long _totalTicks;

    /// <summary>Loads a sentence-transformers model folder.</summary>
    /// <param name="modelFolder">Folder with <c>model.onnx</c> (or <c>onnx/model.onnx</c>), <c>vocab.txt</c> and the JSON configs.</param>
    /// <param name="options">Overrides and run settings; null for the folder's own settings.</param>
    /// <exception cref="ArgumentException"><paramref name="modelFolder"/> is blank, or an option is out of range (the message names it).</exception>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="FileNotFoundException">A required file is missing (the message names it).</exception>
    /// <exception cref="InvalidDataException">A config is invalid, or the ONNX graph lacks the inputs or outputs of a BERT encoder.</exception>
    public OnnxTextEncoder(string modelFolder, OnnxEncoderOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelFolder);
        options ??= new OnnxEncoderOptions();
        SentenceModelInfo info = SentenceModelInfo.Load(modelFolder);
        ValidateOptions(options, info);
        _logger = options.Logger ?? NullLogger.Instance;
        info = info with
        {
            MaxSequenceLength = options.MaxSequenceLength ?? info.MaxSequenceLength,
            LowerCase = options.LowerCase ?? info.LowerCase,
            StripAccents = options.LowerCase is bool l ? l : info.StripAccents,
            Pooling = options.Pooling ?? info.Pooling,
            Normalize = options.Normalize ?? info.Normalize,
        };
        Info = info;
        _batchSize = options.BatchSize;
        _sortWindow = options.SortWindow;
        _dynamicPadding = options.DynamicPadding;
        ModelId = Path.GetFileName(info.Folder.TrimEnd(Path.DirectorySeparatorChar));

        _tokenizer = BertTokenizer.Create(info.VocabularyPath, new BertOptions
        {
            LowerCaseBeforeTokenization = info.LowerCase,
            RemoveNonSpacingMarks = info.StripAccents,
            IndividuallyTokenizeCjk = info.TokenizeCjk,
            ApplyBasicTokenization = true,
            SplitOnSpecialTokens = true,
        });

        (_session, ActiveDevice) = CreateSession(info.ModelPath, options, _logger);
        _maxBatchTokens = options.MaxBatchTokens ?? (ActiveDevice == ExecutionDevice.Cpu ? OnnxEncoderOptions.DefaultCpuBatchTokens : 0);
        _concurrentBatches = ConcurrentBatchesFor(options, ActiveDevice);
        try
        {
            _inputNames = [.. _session.InputMetadata.Keys];
            _idsInput = Array.IndexOf(_inputNames, "input_ids");
            _maskInput = Array.IndexOf(_inputNames, "attention_mask");
            _typesInput = Array.IndexOf(_inputNames, "token_type_ids");
            if (_idsInput < 0 || _maskInput < 0)
            {
                throw new InvalidDataException($"'{info.ModelPath}' has inputs [{string.Join(", ", _inputNames)}]; a BERT encoder needs input_ids and attention_mask.");
            }

            int known = 2 + (_typesInput >= 0 ? 1 : 0);
            if (_inputNames.Length != known)
            {
                throw new InvalidDataException($"'{info.ModelPath}' has inputs [{string.Join(", ", _inputNames)}]; VecRec feeds only input_ids, attention_mask and token_type_ids.");
            }

            foreach (string name in _inputNames)
            {
                if (_session.InputMetadata[name].ElementDataType != Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Int64)
                {
                    throw new InvalidDataException($"'{info.ModelPath}' input {name} is {_session.InputMetadata[name].ElementDataType}; VecRec feeds int64.");
                }
            }

            (string output, _outputIsPooled, _dimension) = ChooseOutput(_session, options.OutputName, info);
            _outputNames = [output];
            if (_outputIsPooled && info.Pooling != PoolingMode.Mean && options.Pooling is not null)
            {
                throw new ArgumentException($"Output '{output}' is already pooled, so pooling {options.Pooling} cannot be applied.", nameof(options));
            }

            if (options.Kernels is not null)
            {
                _kernels = options.Kernels;
            }
            else
            {
                string? forced = Environment.GetEnvironmentVariable(KernelBackends.EnvironmentVariable);
                _kernels = KernelBackends.Create(options.KernelBackend ?? (string.IsNullOrWhiteSpace(forced) ? KernelBackends.BestCpuName : forced.Trim()));
                _ownsKernels = true;
            }
        }
        catch
        {
            _session.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public override int Dimension => _dimension;

    /// <inheritdoc />
    public override string ModelId { get; }

    /// <inheritdoc />
    public override bool Normalized => Info.Normalize;

    /// <summary>The model's settings in effect (the folder's configs with the options applied).</summary>
    public SentenceModelInfo Info { get; }

    /// <summary>Maximum tokens per text including <c>[CLS]</c> and <c>[SEP]</c>.</summary>
    public int MaxSequenceLength => Info.MaxSequenceLength;

    /// <summary>The execution provider actually in use (CPU after a CUDA fallback).</summary>
    public ExecutionDevice ActiveDevice { get; }

    /// <summary>Name of the kernel backend that pools and normalises.</summary>
    public string KernelBackend => _kernels.Name;

    /// <summary>The token ids the model sees for <paramref name="text"/>: <c>[CLS]</c>, WordPiece ids, <c>[SEP]</c>, truncated to <see cref="MaxSequenceLength"/>.</summary>
    /// <param name="text">The text.</param>
    /// <returns>The ids.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
    public int[] Tokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        ThrowIfDisposed();
        return [.. TokenizeCore(text)];
    }

    /// <summary>Cumulative time split since construction (or the last <see cref="ResetTimings"/>), for benchmarks.</summary>
    internal (TimeSpan Tokenize, TimeSpan Run, TimeSpan Pool, TimeSpan Total) Timings =>
        (Stopwatch.GetElapsedTime(0, Volatile.Read(ref _tokenizeTicks)), Stopwatch.GetElapsedTime(0, Volatile.Read(ref _runTicks)),
         Stopwatch.GetElapsedTime(0, Volatile.Read(ref _poolTicks)), Stopwatch.GetElapsedTime(0, Volatile.Read(ref _totalTicks)));

    internal void ResetTimings()
    {
        Volatile.Write(ref _tokenizeTicks, 0);
        Volatile.Write(ref _runTicks, 0);
        Volatile.Write(ref _poolTicks, 0);
        Volatile.Write(ref _totalTicks, 0);
    }

    /// <inheritdoc />
    protected override void EncodeCore(IReadOnlyList<string> texts, Span<float> destination, CancellationToken cancellationToken)
    {
        long start = Stopwatch.GetTimestamp();
        int n = texts.Count;
        var ids = new IReadOnlyList<int>[n];
        for (int i = 0; i < n; i++)
        {
            ids[i] = TokenizeCore(texts[i]);
        }

        // Order: longest first inside each sort window (dynamic padding), or the caller's order (fixed padding).
        int[] order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        if (_dynamicPadding)
        {
            for (int w = 0; w < n; w += _sortWindow)
            {
                int len = Math.Min(_sortWindow, n - w);
                Array.Sort(order, w, len, Comparer<int>.Create((a, b) => ids[b].Count != ids[a].Count ? ids[b].Count.CompareTo(ids[a].Count) : a.CompareTo(b)));
            }
        }

        long tokenized = Stopwatch.GetTimestamp();
        Interlocked.Add(ref _tokenizeTicks, tokenized - start);

        // Plan the batches: (first position in order, texts, padded length).
        var batches = new List<(int First, int Count, int Length)>();
        for (int first = 0, b; first < n; first += b)
        {
            b = Math.Min(_batchSize, n - first);
            int length = 0;
            if (_dynamicPadding)
            {
                // Sorted longest first inside a window, so the first text of a batch is usually its longest; scan anyway
                // (window edges), growing the batch only while the padded size stays within the token budget.
                int taken = 0;
                for (; taken < b; taken++)
                {
                    int grown = Math.Max(length, ids[order[first + taken]].Count);
                    if (taken > 0 && _maxBatchTokens > 0 && (long)grown * (taken + 1) > _maxBatchTokens) break;
                    length = grown;
                }

                b = taken;
            }
            else
            {
                length = MaxSequenceLength;
                if (_maxBatchTokens > 0) b = Math.Max(1, Math.Min(b, _maxBatchTokens / length));
            }

            batches.Add((first, b, length));
        }

        try
        {
            if (_concurrentBatches <= 1 || batches.Count == 1)
            {
                Workspace ws = _workspaces.TryTake(out Workspace? w0) ? w0 : new Workspace();
                try
                {
                    foreach (var (first, b, length) in batches)
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                        RunBatch(ws, ids, order.AsSpan(first, b), length, destination, cancellationToken);
                    }
                }
                finally
                {
                    _workspaces.Add(ws);
                }
            }
            else
            {
                RunConcurrently(batches, ids, order, destination, cancellationToken);
            }
        }
        finally
        {
            Interlocked.Add(ref _totalTicks, Stopwatch.GetTimestamp() - start);
        }
    }

    /// <summary>
    /// Runs the planned batches on <see cref="_concurrentBatches"/> threads, each with its own workspace, all through the
    /// one session (ONNX Runtime's <c>Run</c> is thread-safe). Batches write disjoint destination rows.
    /// </summary>
    private unsafe void RunConcurrently(List<(int First, int Count, int Length)> batches, IReadOnlyList<int>[] ids, int[] order, Span<float> destination, CancellationToken cancellationToken)
    {
        fixed (float* dst = destination)
        {
            nint address = (nint)dst;
            int length = destination.Length;
            int next = -1;
            var options = new ParallelOptions { MaxDegreeOfParallelism = _concurrentBatches, CancellationToken = cancellationToken };
            // One worker per degree of parallelism pulls batches in plan order (longest first), which balances the load.
            Parallel.For(0, _concurrentBatches, options, _ =>
            {
                Workspace ws = _workspaces.TryTake(out Workspace? w0) ? w0 : new Workspace();
                try
                {
                    var rows = new Span<float>((float*)address, length);
                    for (int i = Interlocked.Increment(ref next); i < batches.Count; i = Interlocked.Increment(ref next))
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                        var (first, b, len) = batches[i];
                        RunBatch(ws, ids, order.AsSpan(first, b), len, rows, cancellationToken);
                    }
                }
                finally
                {
                    _workspaces.Add(ws);
                }
            });
        }
    }

    private void RunBatch(Workspace ws, IReadOnlyList<int>[] ids, ReadOnlySpan<int> rows, int length, Span<float> destination, CancellationToken cancellationToken)
    {
        long t0 = Stopwatch.GetTimestamp();
        int b = rows.Length;
        int d = _dimension;
        int tokens = b * length;
        ws.Ensure(tokens, _outputIsPooled ? b * d : (long)tokens * d, b * d);
        Span<long> idSpan = ws.Ids.AsSpan(0, tokens);
        Span<long> maskSpan = ws.Mask.AsSpan(0, tokens);
        idSpan.Clear();
        maskSpan.Clear();
        for (int j = 0; j < b; j++)
        {
            IReadOnlyList<int> t = ids[rows[j]];
            Span<long> idRow = idSpan.Slice(j * length, length);
            Span<long> maskRow = maskSpan.Slice(j * length, length);
            for (int p = 0; p < t.Count; p++)
            {
                idRow[p] = t[p];
            }

            maskRow[..t.Count].Fill(1);
        }

        long[] shape = [b, length];
        var inputs = new OrtValue[_inputNames.Length];
        OrtValue? output = null;
        try
        {
            inputs[_idsInput] = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, ws.Ids.AsMemory(0, tokens), shape);
            inputs[_maskInput] = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, ws.Mask.AsMemory(0, tokens), shape);
            if (_typesInput >= 0)
            {
                inputs[_typesInput] = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, ws.Types.AsMemory(0, tokens), shape);
            }

            output = _outputIsPooled
                ? OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, ws.Hidden.AsMemory(0, b * d), [b, d])
                : OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, ws.Hidden.AsMemory(0, tokens * d), [b, length, d]);

            long t1 = Stopwatch.GetTimestamp();
            using (cancellationToken.Register(static s => ((RunOptions)s!).Terminate = true, ws.RunOptions))
            {
                try
                {
                    _session.Run(ws.RunOptions, _inputNames, inputs, _outputNames, [output]);
                }
                catch (OnnxRuntimeException) when (cancellationToken.IsCancellationRequested)
                {
                    ws.ResetRunOptions();
                    throw new OperationCanceledException(cancellationToken);
                }
            }

            long t2 = Stopwatch.GetTimestamp();
            Interlocked.Add(ref _runTicks, t2 - t1);
            Interlocked.Add(ref _tokenizeTicks, t1 - t0); // padding counts as preparation
        }
        finally
        {
            foreach (OrtValue? v in inputs) v?.Dispose();
            output?.Dispose();
        }

        long p0 = Stopwatch.GetTimestamp();
        Span<float> pooled = ws.Pooled.AsSpan(0, b * d);
        ReadOnlySpan<float> hidden = ws.Hidden.AsSpan(0, _outputIsPooled ? b * d : tokens * d);
        if (_outputIsPooled)
        {
            hidden.CopyTo(pooled);
        }
        else
        {
            switch (Info.Pooling)
            {
                case PoolingMode.Mean:
                    _kernels.MeanPool(hidden, maskSpan, b, length, d, pooled);
                    break;
                case PoolingMode.MeanSqrtLength:
                    _kernels.MeanPool(hidden, maskSpan, b, length, d, pooled);
                    for (int j = 0; j < b; j++)
                    {
                        // sum / sqrt(n) = mean * sqrt(n)
                        float scale = MathF.Sqrt(ids[rows[j]].Count);
                        System.Numerics.Tensors.TensorPrimitives.Multiply(pooled.Slice(j * d, d), scale, pooled.Slice(j * d, d));
                    }

                    break;
                case PoolingMode.Max:
                    _kernels.MaxPool(hidden, maskSpan, b, length, d, pooled);
                    break;
                case PoolingMode.Cls:
                    for (int j = 0; j < b; j++) hidden.Slice(j * length * d, d).CopyTo(pooled.Slice(j * d, d));
                    break;
            }
        }

        if (Info.Normalize)
        {
            _kernels.L2Normalize(pooled, b, d);
        }

        for (int j = 0; j < b; j++)
        {
            pooled.Slice(j * d, d).CopyTo(destination.Slice(rows[j] * d, d));
        }

        Interlocked.Add(ref _poolTicks, Stopwatch.GetTimestamp() - p0);
    }

    /// <summary>
    /// WordPiece ids with <c>[CLS]</c>/<c>[SEP]</c>, truncated as Hugging Face tokenizers do: the first
    /// <c>MaxSequenceLength - 2</c> word pieces, cutting inside a word where needed. Microsoft.ML.Tokenizers' own limit
    /// stops at word boundaries, so it is asked for a margin larger than any word's piece count (words over 100 characters
    /// become one <c>[UNK]</c>), then cut here; long texts are never tokenised past that margin.
    /// </summary>
    private IReadOnlyList<int> TokenizeCore(string text)
    {
        int max = MaxSequenceLength;
        IReadOnlyList<int> ids = _tokenizer.EncodeToIds(text, max + TruncationMargin, addSpecialTokens: true, out _, out _, considerPreTokenization: true, considerNormalization: true);
        if (ids.Count <= max)
        {
            return ids;
        }

        var cut = new int[max];
        for (int i = 0; i < max - 1; i++) cut[i] = ids[i];
        cut[max - 1] = _tokenizer.SeparatorTokenId;
        return cut;
    }

    /// <summary>More than the most word pieces one word can produce (WordPiece gives up on words over 100 characters).</summary>
    private const int TruncationMargin = 128;

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _session.Dispose();
            while (_workspaces.TryTake(out Workspace? w)) w.Dispose();
            if (_ownsKernels) _kernels.Dispose();
        }
    }

    private static void ValidateOptions(OnnxEncoderOptions o, SentenceModelInfo info)
    {
        if (o.MaxSequenceLength is int m && (m < 3 || m > info.PositionLimit))
        {
            throw new ArgumentOutOfRangeException(nameof(o.MaxSequenceLength), m, $"MaxSequenceLength must be 3..{info.PositionLimit} (the model's position limit).");
        }

        if (o.BatchSize is < 1 or > 4096)
        {
            throw new ArgumentOutOfRangeException(nameof(o.BatchSize), o.BatchSize, "BatchSize must be 1..4096.");
        }

        if (o.MaxBatchTokens is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(o.MaxBatchTokens), o.MaxBatchTokens, "MaxBatchTokens must be 0 (no bound) or positive.");
        }

        if (o.SortWindow < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(o.SortWindow), o.SortWindow, "SortWindow must be at least 1.");
        }

        if (o.ConcurrentBatches is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(o.ConcurrentBatches), o.ConcurrentBatches, "ConcurrentBatches must be at least 1 (null: automatic).");
        }

        if (o.IntraOpThreads < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(o.IntraOpThreads), o.IntraOpThreads, "IntraOpThreads must be 0 (all cores) or positive.");
        }

        if (o.DeviceId < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(o.DeviceId), o.DeviceId, "DeviceId must be non-negative.");
        }

        if (!Enum.IsDefined(o.Device))
        {
            throw new ArgumentOutOfRangeException(nameof(o.Device), o.Device, "Unknown execution device.");
        }

        if (o.Pooling is PoolingMode p && !Enum.IsDefined(p))
        {
            throw new ArgumentOutOfRangeException(nameof(o.Pooling), p, "Unknown pooling mode.");
        }
    }

    /// <summary>Intra-op threads: the option, else all cores divided among the concurrent batches (at least 1).</summary>
    private static int IntraOpThreadsFor(OnnxEncoderOptions o) =>
        o.IntraOpThreads > 0 ? o.IntraOpThreads : Math.Max(1, Environment.ProcessorCount / Math.Max(1, o.ConcurrentBatches ?? (o.Device == ExecutionDevice.Cpu ? Environment.ProcessorCount : 1)));

    /// <summary>Concurrent batches: the option, else 1 on CUDA and on the CPU as many as leave each at least its intra-op threads.</summary>
    private static int ConcurrentBatchesFor(OnnxEncoderOptions o, ExecutionDevice active) =>
        o.ConcurrentBatches ?? (active == ExecutionDevice.Cuda ? 1 : Math.Max(1, Environment.ProcessorCount / Math.Max(1, IntraOpThreadsFor(o))));

    private static (InferenceSession Session, ExecutionDevice Device) CreateSession(string modelPath, OnnxEncoderOptions o, ILogger logger)
    {
        SessionOptions Make()
        {
            var so = new SessionOptions
            {
                GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
                ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
                IntraOpNumThreads = IntraOpThreadsFor(o),
                InterOpNumThreads = 1,
            };
            return so;
        }

        if (o.Device == ExecutionDevice.Cuda)
        {
            SessionOptions so = Make();
            try
            {
                so.AppendExecutionProvider_CUDA(o.DeviceId);
                return (new InferenceSession(modelPath, so), ExecutionDevice.Cuda);
            }
            catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException or OnnxRuntimeException)
            {
                // The CPU package lacks the CUDA entry point (EntryPointNotFoundException); the GPU package throws
                // OnnxRuntimeException where CUDA or the device is missing.
                logger.LogWarning(e, "ONNX Runtime cannot use CUDA device {DeviceId} ({Reason}); running {Model} on the CPU instead.", o.DeviceId, e.GetType().Name + ": " + e.Message, modelPath);
            }
            finally
            {
                so.Dispose();
            }
        }

        using SessionOptions cpu = Make();
        try
        {
            return (new InferenceSession(modelPath, cpu), ExecutionDevice.Cpu);
        }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidDataException($"ONNX Runtime cannot load '{modelPath}': {e.Message}", e);
        }
    }

    private static (string Name, bool Pooled, int Dimension) ChooseOutput(InferenceSession session, string? requested, SentenceModelInfo info)
    {
        IReadOnlyDictionary<string, NodeMetadata> outputs = session.OutputMetadata;
        string? name = requested;
        if (name is not null && !outputs.ContainsKey(name))
        {
            throw new ArgumentException($"The model has no output '{name}' (it has {string.Join(", ", outputs.Keys)}).", "options");
        }

        name ??= new[] { "last_hidden_state", "token_embeddings" }.FirstOrDefault(outputs.ContainsKey)
            ?? outputs.FirstOrDefault(kv => kv.Value.Dimensions.Length == 3).Key
            ?? new[] { "sentence_embedding", "sentence_embeddings", "embeddings" }.FirstOrDefault(outputs.ContainsKey)
            ?? outputs.FirstOrDefault(kv => kv.Value.Dimensions.Length == 2).Key;
        if (name is null)
        {
            throw new InvalidDataException($"'{info.ModelPath}' has no rank-3 (token embeddings) or rank-2 (pooled) output; outputs: {string.Join(", ", outputs.Keys)}.");
        }

        NodeMetadata meta = outputs[name];
        if (meta.ElementDataType != Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float || meta.Dimensions.Length is not (2 or 3))
        {
            throw new InvalidDataException($"'{info.ModelPath}' output {name} is {meta.ElementDataType} of rank {meta.Dimensions.Length}; VecRec needs float of rank 2 or 3.");
        }

        int d = meta.Dimensions[^1] > 0 ? meta.Dimensions[^1] : info.HiddenSize;
        if (d <= 0)
        {
            throw new InvalidDataException($"'{info.ModelPath}' output {name} has no fixed last dimension and config.json gives no hidden_size.");
        }

        if (info.HiddenSize > 0 && meta.Dimensions[^1] > 0 && info.HiddenSize != meta.Dimensions[^1])
        {
            throw new InvalidDataException($"config.json gives hidden_size {info.HiddenSize} but '{info.ModelPath}' output {name} has {meta.Dimensions[^1]}.");
        }

        return (name, meta.Dimensions.Length == 2, d);
    }

    /// <summary>Reusable buffers of one encoding call.</summary>
    private sealed class Workspace : IDisposable
    {
        public long[] Ids = [];
        public long[] Mask = [];
        public long[] Types = [];
        public float[] Hidden = [];
        public float[] Pooled = [];
        public RunOptions RunOptions = new();

        public void Ensure(int tokens, long hidden, int pooled)
        {
            if (Ids.Length < tokens)
            {
                Ids = new long[tokens];
                Mask = new long[tokens];
                Types = new long[tokens]; // token_type_ids stay zero: one segment
            }

            if (Hidden.LongLength < hidden) Hidden = new float[hidden];
            if (Pooled.Length < pooled) Pooled = new float[pooled];
        }

        public void ResetRunOptions()
        {
            RunOptions.Dispose();
            RunOptions = new RunOptions();
        }

        public void Dispose() => RunOptions.Dispose();
    }
}
