using Vec.Kernels;

namespace Vec.Rec.Models;

/// <summary>Recommends the items with the most training interactions to everyone (ties to the lower item index).</summary>
public sealed class MostPopular : Recommender
{
    private float[] _counts = [];

    /// <summary>Creates the model.</summary>
    /// <param name="kernels">Kernels for top-k; null for the best CPU backend.</param>
    public MostPopular(IVectorKernels? kernels = null) : base(kernels)
    {
    }

    /// <inheritdoc />
    public override string Name => "pop";

    /// <inheritdoc />
    protected override void FitCore(Interactions train, ItemCatalog? catalog, CancellationToken cancellationToken)
    {
        var counts = new float[train.ItemCount];
        foreach (int i in train.ItemIndices) counts[i]++;
        _counts = counts;
    }

    /// <inheritdoc />
    protected override void ScoreAllCore(ReadOnlySpan<int> users, Span<float> destination)
    {
        for (int r = 0; r < users.Length; r++) _counts.CopyTo(destination.Slice(r * _counts.Length, _counts.Length));
    }
}
