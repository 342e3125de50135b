namespace Vec.Embed;

/// <summary>How token embeddings become one sentence embedding (sentence-transformers' <c>1_Pooling/config.json</c>).</summary>
public enum PoolingMode
{
    /// <summary>Mean of the token embeddings under the attention mask (<c>pooling_mode_mean_tokens</c>).</summary>
    Mean,

    /// <summary>Element-wise maximum over the tokens under the attention mask (<c>pooling_mode_max_tokens</c>).</summary>
    Max,

    /// <summary>The first token's embedding, <c>[CLS]</c> (<c>pooling_mode_cls_token</c>).</summary>
    Cls,

    /// <summary>Sum of the masked token embeddings divided by the square root of their count (<c>pooling_mode_mean_sqrt_len_tokens</c>).</summary>
    MeanSqrtLength,
}

/// <summary>Where ONNX Runtime runs the transformer.</summary>
public enum ExecutionDevice
{
    /// <summary>The CPU execution provider.</summary>
    Cpu,

    /// <summary>
    /// The CUDA execution provider. It needs the <c>Microsoft.ML.OnnxRuntime.Gpu</c> package (build with
    /// <c>-p:VecRecOnnxRuntimeGpu=true</c>) and a CUDA device; where either is missing the encoder falls back to the CPU
    /// and logs a warning.
    /// </summary>
    Cuda,
}
