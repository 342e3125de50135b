using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Vec.Embed;
using Vec.Kernels;
using Vec.Rec;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers fitted VecRec recommenders in an <see cref="IServiceCollection"/>, by name.</summary>
public static class RecommenderServiceCollectionExtensions
{
    /// <summary>The logger category fits are logged under.</summary>
    public const string LoggerCategory = "Vec.Rec.Recommender";

    /// <summary>
    /// Registers a recommender under <paramref name="name"/> as a keyed singleton <see cref="Recommender"/> (inject it with
    /// <c>[FromKeyedServices("name")]</c>). On first resolution the options are validated, the training data is loaded,
    /// the model is created by <see cref="RecommenderRegistry.Create"/> with the container's <see cref="TextEncoder"/> and
    /// <see cref="IVectorKernels"/> (when registered) and fitted once (concurrent first resolutions wait for the one fit),
    /// and the fit time is logged (category <see cref="LoggerCategory"/>). The container disposes it. While exactly one
    /// recommender is registered this way, it is also the non-keyed <see cref="Recommender"/>.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="name">The recommender's key (and its named options' name); unique among the recommenders registered here.</param>
    /// <param name="configure">Sets the algorithm, seed and training data.</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty or already registered.</exception>
    /// <remarks>Invalid options throw <see cref="OptionsValidationException"/> naming the option when the recommender is resolved.</remarks>
    public static IServiceCollection AddVecRecRecommender(this IServiceCollection services, string name, Action<RecommenderServiceOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(configure);
        RecommenderNames names = GetOrAddNames(services);
        if (names.Names.Contains(name, StringComparer.Ordinal))
        {
            throw new ArgumentException($"A VecRec recommender named '{name}' is already registered.", nameof(name));
        }

        names.Names.Add(name);
        services.AddOptions<RecommenderServiceOptions>(name).Configure(configure);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RecommenderServiceOptions>, RecommenderServiceOptionsValidator>());
        services.AddKeyedSingleton<Recommender>(name, (sp, _) => CreateAndFit(sp, name));
        services.TryAddSingleton<Recommender>(sp => sp.GetRequiredService<RecommenderNames>().ResolveDefault(sp));
        return services;
    }

    private static Recommender CreateAndFit(IServiceProvider services, string name)
    {
        // The container builds a singleton once, even under concurrent first resolutions, so the fit runs once.
        RecommenderServiceOptions options = services.GetRequiredService<IOptionsMonitor<RecommenderServiceOptions>>().Get(name);
        ILogger logger = services.GetService<ILoggerFactory>()?.CreateLogger(LoggerCategory) ?? NullLogger.Instance;
        var clock = Stopwatch.StartNew();
        Interactions train;
        ItemCatalog? catalog;
        if (options.TrainingData is not null)
        {
            (train, catalog) = options.TrainingData(services);
            if (train is null)
            {
                throw new InvalidOperationException($"{nameof(RecommenderServiceOptions)}.{nameof(RecommenderServiceOptions.TrainingData)} of recommender '{name}' returned no interactions.");
            }
        }
        else
        {
            RatingDataset dataset = options.Dataset!(services)
                ?? throw new InvalidOperationException($"{nameof(RecommenderServiceOptions)}.{nameof(RecommenderServiceOptions.Dataset)} of recommender '{name}' returned null.");
            train = Interactions.Build(dataset.Ratings, dataset.Users(), dataset.Items());
            catalog = dataset.Catalog;
        }

        double loadSeconds = clock.Elapsed.TotalSeconds;
        var context = new RecommenderContext
        {
            Kernels = services.GetService<IVectorKernels>(),
            Encoder = services.GetService<TextEncoder>(),
            Seed = options.Seed,
        };
        Recommender model = RecommenderRegistry.Create(options.Algorithm!, context);
        try
        {
            clock.Restart();
            model.Fit(train, catalog);
            logger.LogInformation("Recommender '{Name}' ({Algorithm}) fitted on {Users} users x {Items} items ({Interactions} interactions) in {Seconds:F2} s (data loaded in {LoadSeconds:F2} s).",
                name, model.Name, train.UserCount, train.ItemCount, train.Count, clock.Elapsed.TotalSeconds, loadSeconds);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    private static RecommenderNames GetOrAddNames(IServiceCollection services)
    {
        foreach (ServiceDescriptor descriptor in services)
        {
            if (descriptor.ServiceType == typeof(RecommenderNames) && !descriptor.IsKeyedService && descriptor.ImplementationInstance is RecommenderNames existing)
            {
                return existing;
            }
        }

        var names = new RecommenderNames();
        services.AddSingleton(names);
        return names;
    }

    /// <summary>The names registered through <see cref="AddVecRecRecommender"/>.</summary>
    private sealed class RecommenderNames
    {
        public List<string> Names { get; } = [];

        public Recommender ResolveDefault(IServiceProvider services) => Names.Count == 1
            ? services.GetRequiredKeyedService<Recommender>(Names[0])
            : throw new InvalidOperationException(
                $"{Names.Count} VecRec recommenders are registered ({string.Join(", ", Names)}): resolve one by name with [FromKeyedServices(\"name\")] or GetRequiredKeyedService<Recommender>(\"name\").");
    }
}
