using Microsoft.Extensions.Logging;
using Vec.Kernels;

namespace Vec.Embed;

/// <summary>
/// Options of <see cref="OnnxTextEncoder"/>. Properties left <see langword="null"/> follow the model folder's configs
/// (<see cref="SentenceModelInfo"/>); set them to override.
/// </summary>
public sealed record OnnxEncoderOptions
{
    /// <summary>Maximum tokens per text including <c>[CLS]</c>/<c>[SEP]</c>; at most the model's position limit. Null: the model's <c>max_seq_length</c>.</summary>
    public int? MaxSequenceLength { get; init; }

    /// <summary>Lower-case before WordPiece. Null: the tokenizer config.</summary>
    public bool? LowerCase { get; init; }

    /// <summary>Pooling mode. Null: <c>1_Pooling/config.json</c>.</summary>
    public PoolingMode? Pooling { get; init; }

    /// <summary>L2-normalise the pooled rows. Null: whether <c>modules.json</c> lists a Normalize module.</summary>
    public bool? Normalize { get; init; }

    /// <summary>Texts per ONNX Runtime call (1 to 4096; default 32).</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>
    /// Upper bound on padded tokens (texts x padded length) per ONNX Runtime call. A batch of long texts is cut short of
    /// <see cref="BatchSize"/> to stay under it (never below one text), which keeps the transformer's activations in
    /// cache. Null (default): <see cref="DefaultCpuBatchTokens"/> on the CPU, no bound on CUDA (GPUs want large
    /// batches); 0: no bound. On a 2-core CPU, 32 paragraphs of 220 tokens in one call run slower per text than 4
    /// (docs/embeddings.md has the measurements).
    /// </summary>
    public int? MaxBatchTokens { get; init; }

    /// <summary>The CPU default of <see cref="MaxBatchTokens"/>: 1,024 padded tokens per call.</summary>
    public const int DefaultCpuBatchTokens = 1024;

    /// <summary>
    /// Pad each batch only to its own longest text, after sorting texts by token count inside windows of
    /// <see cref="SortWindow"/> texts (default true). False pads every batch to the maximum sequence length, in the
    /// caller's order, which is slower and exists to measure the difference.
    /// </summary>
    public bool DynamicPadding { get; init; } = true;

    /// <summary>Texts sorted together by length before batching (at least 1; default 65,536, which covers most calls whole).</summary>
    public int SortWindow { get; init; } = 65_536;

    /// <summary>
    /// ONNX Runtime intra-op threads per batch; 0 (default): the cores divided among <see cref="ConcurrentBatches"/>
    /// (so 1 on the CPU by default).
    /// </summary>
    public int IntraOpThreads { get; init; }

    /// <summary>
    /// Batches run at once through the one session, each on its own thread and workspace. Null (default): on the CPU,
    /// the cores divided by <see cref="IntraOpThreads"/> (one batch per core when that is automatic too); 1 on CUDA.
    /// Batch-level parallelism helps most where each batch is small (single short texts: 474 against about 300 texts/s
    /// on 2 cores); at 32 texts per batch the two ways are within 5% (docs/benchmarks.md). A call with a single batch
    /// uses one batch's threads.
    /// </summary>
    public int? ConcurrentBatches { get; init; }

    /// <summary>Execution provider; <see cref="ExecutionDevice.Cuda"/> falls back to the CPU with a logged warning where unavailable.</summary>
    public ExecutionDevice Device { get; init; } = ExecutionDevice.Cpu;

    /// <summary>CUDA device ordinal (default 0).</summary>
    public int DeviceId { get; init; }

    /// <summary>
    /// Kernels for pooling and normalisation. Null: the backend named by <see cref="KernelBackend"/>, else the one the
    /// <c>VECREC_BACKEND</c> environment variable names, else the best CPU SIMD backend (ONNX Runtime leaves the hidden
    /// states in host memory, so a GPU backend is used only when asked for).
    /// The encoder does not dispose kernels it is given.
    /// </summary>
    public IVectorKernels? Kernels { get; init; }

    /// <summary>Name of the kernel backend to create when <see cref="Kernels"/> is null (see <see cref="KernelBackends.All"/>).</summary>
    public string? KernelBackend { get; init; }

    /// <summary>Name of the ONNX output to pool. Null: the first rank-3 output (<c>last_hidden_state</c>, <c>token_embeddings</c>), else a rank-2 pooled output (<c>sentence_embedding</c>).</summary>
    public string? OutputName { get; init; }

    /// <summary>Where warnings (such as the CUDA fallback) go. Null: nowhere.</summary>
    public ILogger? Logger { get; init; }
}
