using Vec.Embed;
using Vec.Kernels;
using Vec.Rec.Models;

namespace Vec.Rec;

/// <summary>What a recommender may need beyond its own options: kernels, a text encoder, a seed.</summary>
public sealed record RecommenderContext
{
    /// <summary>Kernels shared by the models; null for each model's default.</summary>
    public IVectorKernels? Kernels { get; init; }

    /// <summary>Text encoder for content models; null for <see cref="TextEncoders.CreateDefault"/>.</summary>
    public TextEncoder? Encoder { get; init; }

    /// <summary>Seed for models with randomness.</summary>
    public int Seed { get; init; } = 42;
}

/// <summary>Creates recommenders by short name, with each model's default (tuned) settings.</summary>
public static class RecommenderRegistry
{
    /// <summary>The names <see cref="Create"/> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } = ["pop", "sar", "itemknn", "userknn", "rp3b", "ease", "als", "content", "hybrid", "genre"];

    /// <summary>Creates a recommender.</summary>
    /// <param name="name">A name from <see cref="Names"/>.</param>
    /// <param name="context">Shared resources; null for defaults.</param>
    /// <returns>An unfitted recommender.</returns>
    /// <exception cref="ArgumentException">Unknown name.</exception>
    public static Recommender Create(string name, RecommenderContext? context = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        context ??= new RecommenderContext();
        return name switch
        {
            "pop" => new MostPopular(context.Kernels),
            "sar" => new Sar(kernels: context.Kernels),
            "itemknn" => new ItemKnn(null, context.Kernels),
            "userknn" => new UserKnn(null, context.Kernels),
            "rp3b" => new Rp3Beta(null, context.Kernels),
            "ease" => new Ease(null, context.Kernels),
            "als" => new ImplicitAls(new ImplicitAlsOptions { Seed = context.Seed }, context.Kernels),
            "content" => new ContentRecommender(null, context.Encoder, context.Kernels),
            "hybrid" => new HybridRecommender(null, context),
            "genre" => new GenreRecommender(context.Kernels),
            _ => throw new ArgumentException($"Unknown recommender '{name}'; known: {string.Join(", ", Names)}.", nameof(name)),
        };
    }
}
