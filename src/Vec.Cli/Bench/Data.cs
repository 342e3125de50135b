using System.Buffers.Binary;
using System.Numerics.Tensors;
using Vec.Kernels;

namespace Vec.Cli.Bench;

/// <summary>Benchmark inputs: seeded synthetic embeddings, TEXMEX .fvecs/.ivecs files, and where things live.</summary>
public static class Data
{
    /// <summary>Latent dimension of the synthetic embeddings (their intrinsic dimension).</summary>
    public const int LatentDimension = 32;

    /// <summary>Standard deviation of the isotropic noise added before normalising.</summary>
    public const float Noise = 0.05f;

    /// <summary>
    /// <paramref name="count"/> L2-normalised rows of low intrinsic dimension: a Gaussian latent of
    /// <see cref="LatentDimension"/> dims times a fixed random projection to <paramref name="dimension"/> (the same for
    /// every call with the same <paramref name="projectionSeed"/>, so queries and database share it), plus small noise.
    /// </summary>
    public static float[] Embeddings(int count, int dimension, int seed, int projectionSeed = 1234)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimension);
        var projection = new float[LatentDimension * dimension];
        var prng = new Random(projectionSeed);
        float scale = 1f / MathF.Sqrt(LatentDimension);
        for (int i = 0; i < projection.Length; i++) projection[i] = Gaussian(prng) * scale;

        var rng = new Random(seed);
        var rows = new float[(long)count * dimension];
        for (int r = 0; r < count; r++)
        {
            Span<float> row = rows.AsSpan(r * dimension, dimension);
            for (int j = 0; j < dimension; j++) row[j] = Gaussian(rng) * Noise;
            for (int l = 0; l < LatentDimension; l++)
                TensorPrimitives.MultiplyAdd(projection.AsSpan(l * dimension, dimension), Gaussian(rng), row, row);
            float norm = TensorPrimitives.Norm(row);
            if (norm > 0) TensorPrimitives.Divide(row, norm, row);
        }
        return rows;
    }

    /// <summary>Uniform random values in [-1, 1) (score matrices for top-k, token embeddings for pooling).</summary>
    public static float[] Uniform(long count, int seed)
    {
        var rng = new Random(seed);
        var values = new float[count];
        for (long i = 0; i < count; i++) values[i] = rng.NextSingle() * 2 - 1;
        return values;
    }

    private static float Gaussian(Random rng) =>
        (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));

    /// <summary>Reads a TEXMEX .fvecs file (records of int32 d, then d float32).</summary>
    public static (float[] Rows, int Count, int Dimension) ReadFvecs(string path)
    {
        var (values, count, dimension) = ReadVecs(path);
        var rows = new float[values.Length];
        for (int i = 0; i < values.Length; i++) rows[i] = BitConverter.Int32BitsToSingle(values[i]);
        return (rows, count, dimension);
    }

    /// <summary>Reads a TEXMEX .ivecs file (records of int32 d, then d int32).</summary>
    public static (int[] Rows, int Count, int Dimension) ReadIvecs(string path) => ReadVecs(path);

    private static (int[] Values, int Count, int Dimension) ReadVecs(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        if (bytes.Length < 4) throw new ArgumentException($"'{path}' is not a .fvecs/.ivecs file (too short).", nameof(path));
        int dimension = BinaryPrimitives.ReadInt32LittleEndian(bytes);
        int record = 4 + 4 * dimension;
        if (dimension <= 0 || bytes.Length % record != 0)
            throw new ArgumentException($"'{path}' is not a .fvecs/.ivecs file (dimension {dimension}, {bytes.Length} bytes).", nameof(path));
        int count = bytes.Length / record;
        var values = new int[count * dimension];
        for (int r = 0; r < count; r++)
        {
            int offset = r * record;
            if (BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(offset)) != dimension)
                throw new ArgumentException($"'{path}': record {r} has a different dimension.", nameof(path));
            for (int j = 0; j < dimension; j++)
                values[r * dimension + j] = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(offset + 4 + 4 * j));
        }
        return (values, count, dimension);
    }

    /// <summary>Writes rows as a TEXMEX .fvecs file.</summary>
    public static void WriteFvecs(string path, ReadOnlySpan<float> rows, int count, int dimension)
    {
        if (rows.Length < (long)count * dimension) throw new ArgumentException("Fewer values than count x dimension.", nameof(rows));
        using var stream = new BufferedStream(File.Create(path), 1 << 20);
        Span<byte> word = stackalloc byte[4];
        for (int r = 0; r < count; r++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(word, dimension);
            stream.Write(word);
            for (int j = 0; j < dimension; j++)
            {
                BinaryPrimitives.WriteSingleLittleEndian(word, rows[r * dimension + j]);
                stream.Write(word);
            }
        }
    }

    /// <summary>The repository root (the directory holding VecRec.sln), searched upwards from the working directory and the binary.</summary>
    public static string RepoRoot()
    {
        foreach (string start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "VecRec.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException("Cannot find the repository root (VecRec.sln) above the working directory.");
    }

    /// <summary>
    /// OpenBLAS kernel family for a BLAS-backed peer on this CPU: <c>SkylakeX</c> where AVX-512 exists (the environment
    /// pins Haswell kernels, which halve the peer's speed there), <c>Zen</c> (AVX2 kernels) elsewhere, where SkylakeX
    /// kernels die of an illegal instruction. Env <c>VECREC_BLAS_CORETYPE</c> overrides it.
    /// </summary>
    public static string BlasCoreType
    {
        get
        {
            string? env = Environment.GetEnvironmentVariable("VECREC_BLAS_CORETYPE");
            if (!string.IsNullOrWhiteSpace(env)) return env;
            return System.Runtime.Intrinsics.X86.Avx512F.IsSupported ? "SkylakeX" : "Zen";
        }
    }

    /// <summary>Shared data directory: env <c>VECREC_SHARED</c>, default <c>../shared</c> relative to the repository root.</summary>
    public static string SharedDirectory()
    {
        string? env = Environment.GetEnvironmentVariable("VECREC_SHARED");
        return string.IsNullOrWhiteSpace(env) ? Path.GetFullPath(Path.Combine(RepoRoot(), "..", "shared")) : env;
    }

    /// <summary>CPU model name from /proc/cpuinfo (or the processor identifier elsewhere).</summary>
    public static string CpuModel()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/cpuinfo"))
                if (line.StartsWith("model name", StringComparison.Ordinal))
                    return line[(line.IndexOf(':') + 1)..].Trim();
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return Environment.GetEnvironmentVariable("PROCESSOR_IDENTIFIER") ?? "unknown-cpu";
    }

    /// <summary>The CPU model as a lower-case slug for a results directory name, e.g. <c>amd-epyc</c>.</summary>
    public static string CpuSlug()
    {
        var chars = CpuModel().ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-').ToArray();
        string slug = string.Join('-', new string(chars).Split('-', StringSplitOptions.RemoveEmptyEntries));
        return slug.Length == 0 ? "unknown-cpu" : slug;
    }

    /// <summary>The backends benchmarked by default: every available one except <c>scalar</c> and <c>ilgpu-cpu</c>, which are orders of magnitude slower.</summary>
    public static IReadOnlyList<string> DefaultBackends() =>
        KernelBackends.Available.Select(b => b.Name).Where(n => !IsSlow(n)).ToArray();

    /// <summary>True for the reference and simulator backends that only suit tiny inputs.</summary>
    public static bool IsSlow(string backend) => backend is "scalar" or "ilgpu-cpu";
}
