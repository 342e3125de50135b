using System.Globalization;
using System.Text;

namespace Vec.Rec;

/// <summary>Settings of <see cref="SyntheticCatalog.Generate"/>.</summary>
public sealed record SyntheticCatalogOptions
{
    /// <summary>Catalog size (items with ids 1..Items). Default 3000.</summary>
    public int Items { get; init; } = 3000;

    /// <summary>Users (ids 1..Users). Default 1500.</summary>
    public int Users { get; init; } = 1500;

    /// <summary>Topics used, the first <c>Topics</c> of <see cref="SyntheticCatalog.TopicNames"/> (2..20). Default 20.</summary>
    public int Topics { get; init; } = 20;

    /// <summary>Seed of every random draw: the same options give the same data, bit for bit.</summary>
    public int Seed { get; init; } = 42;

    /// <summary>Share of items that are new: no interaction in the history, only held-out ones (cold-start test). Default 0.1.</summary>
    public double ColdFraction { get; init; } = 0.1;

    /// <summary>Fewest interactions drawn per user (history plus cold-item interactions). Default 20.</summary>
    public int MinInteractions { get; init; } = 20;

    /// <summary>Most interactions drawn per user. Default 60.</summary>
    public int MaxInteractions { get; init; } = 60;

    /// <summary>Fewest words of a description. Default 15.</summary>
    public int MinDescriptionWords { get; init; } = 15;

    /// <summary>Most words of a description. Default 40.</summary>
    public int MaxDescriptionWords { get; init; } = 40;

    /// <summary>Weight of the log topic affinity (user taste · item topics) in a user's choice utility. Default 1.5.</summary>
    public double TasteWeight { get; init; } = 1.5;

    /// <summary>Weight of the item's log popularity (log-normal, sd 1) in the utility. Default 0.6.</summary>
    public double PopularityWeight { get; init; } = 0.6;

    /// <summary>
    /// Weight of a hidden 4-factor user-item match that no text reveals (what only collaborative filtering can learn).
    /// Default 0.4.
    /// </summary>
    public double HiddenWeight { get; init; } = 0.4;

    /// <summary>
    /// Share of a description's topic words drawn from a random other topic (realistic noise: texts do not name only
    /// their true topics). Default 0.1.
    /// </summary>
    public double TextNoise { get; init; } = 0.1;

    internal void Validate()
    {
        if (Items < 20) throw new ArgumentOutOfRangeException(nameof(Items), Items, "At least 20 items are needed.");
        if (Users < 2) throw new ArgumentOutOfRangeException(nameof(Users), Users, "At least 2 users are needed.");
        if (Topics < 2 || Topics > SyntheticCatalog.TopicNames.Count)
            throw new ArgumentOutOfRangeException(nameof(Topics), Topics, $"Topics must be 2..{SyntheticCatalog.TopicNames.Count}.");
        if (!(ColdFraction >= 0 && ColdFraction < 0.5)) throw new ArgumentOutOfRangeException(nameof(ColdFraction), ColdFraction, "The cold fraction must lie in [0, 0.5).");
        if (MinInteractions < 1 || MaxInteractions < MinInteractions)
            throw new ArgumentOutOfRangeException(nameof(MinInteractions), MinInteractions, "Interactions per user: 1 <= min <= max.");
        if (MinDescriptionWords < 1 || MaxDescriptionWords < MinDescriptionWords)
            throw new ArgumentOutOfRangeException(nameof(MinDescriptionWords), MinDescriptionWords, "Description words: 1 <= min <= max.");
        foreach ((string name, double v) in new[] { (nameof(TasteWeight), TasteWeight), (nameof(PopularityWeight), PopularityWeight), (nameof(HiddenWeight), HiddenWeight) })
        {
            if (!(v >= 0 && double.IsFinite(v))) throw new ArgumentOutOfRangeException(name, v, "Weights must be finite and non-negative.");
        }

        if (!(TextNoise >= 0 && TextNoise <= 1)) throw new ArgumentOutOfRangeException(nameof(TextNoise), TextNoise, "The text noise must lie in [0, 1].");
    }
}

/// <summary>A generated data set with its ground truth.</summary>
/// <param name="Data">The interaction history (warm items only, in time order) and the catalog of every item, cold ones included.</param>
/// <param name="ColdItems">Ids of the new items: in the catalog, absent from <see cref="RatingDataset.Ratings"/>, ascending.</param>
/// <param name="ColdInteractions">Held-out interactions on the cold items (users' choices that fell on new items): the cold-start test.</param>
/// <param name="TopicNames">The topic (genre) names in use.</param>
/// <param name="ItemTopics">Ground truth: row-major <c>items x topics</c> topic weights (each row sums to 1), item id i at row i - 1.</param>
/// <param name="UserTastes">Ground truth: row-major <c>users x topics</c> taste weights (each row sums to 1), user id u at row u - 1.</param>
public sealed record SyntheticData(RatingDataset Data, IReadOnlyList<long> ColdItems, IReadOnlyList<Rating> ColdInteractions,
    IReadOnlyList<string> TopicNames, float[] ItemTopics, float[] UserTastes);

/// <summary>
/// A deterministic, model-free stand-in for a real catalog: items with titles and descriptions written from a topic
/// vocabulary, users with latent tastes over the topics, and interactions drawn from those tastes, item popularity, a
/// hidden user-item factor and noise; a share of the items is new (cold) and only appears in a held-out set.
/// </summary>
/// <remarks>
/// <para><b>Items.</b> Each item has 1-3 topics (a primary one drawn with a mild skew, weights 1, 0.5, 0.3 normalised),
/// a title of 2-5 words and a description of <see cref="SyntheticCatalogOptions.MinDescriptionWords"/> to
/// <see cref="SyntheticCatalogOptions.MaxDescriptionWords"/> words, both drawn from its topics' words and shared filler
/// words (a <see cref="SyntheticCatalogOptions.TextNoise"/> share of topic words comes from another topic), a year
/// (appended to the title as <c>(yyyy)</c>; cold items are the newest) and the topic names as genres.</para>
/// <para><b>Users.</b> Tastes are Dirichlet-like: gamma draws with shape 0.15 plus 1.5 on 1-3 favourite topics, normalised.
/// A user draws n (uniform in the interaction range) distinct items by the Gumbel top-n of the utility
/// <c>TasteWeight · ln(0.02 + taste · topics) + PopularityWeight · ln pop + HiddenWeight · (g_u · h_i) / 2</c>, where pop is
/// log-normal and g, h are standard normal 4-vectors. Ratings (1-5) grow with the non-random part of the utility plus
/// normal noise; timestamps are spread over two years.</para>
/// <para>Every draw comes from <see cref="MersenneTwister"/> generators seeded from <see cref="SyntheticCatalogOptions.Seed"/>
/// (one per user, so users are generated in parallel with the same result).</para>
/// </remarks>
public static class SyntheticCatalog
{
    private const int HiddenFactors = 4;
    private const long StartTime = 1_577_836_800; // 2020-01-01 UTC

    /// <summary>The topic names, in the order <see cref="SyntheticCatalogOptions.Topics"/> takes them.</summary>
    public static IReadOnlyList<string> TopicNames { get; } = [.. Vocabulary.Select(v => v.Name)];

    private static (string Name, string[] Words)[] Vocabulary =>
    [
        ("space", W("galaxy planet rocket astronaut orbit nebula star comet spaceship alien asteroid moon cosmos satellite telescope launch gravity meteor starship universe colony eclipse lunar solar interstellar mars wormhole crater cosmic station")),
        ("ocean", W("sea ocean wave ship sailor island coral whale tide harbor reef shark dolphin captain storm shore lighthouse submarine anchor fisherman mermaid lagoon beach diver shipwreck tsunami dock navy pirate voyage")),
        ("cooking", W("kitchen chef recipe bread sauce bakery spice flavor dinner feast restaurant oven garlic pasta dessert chocolate soup menu butter cake pastry cheese noodle grill meal breakfast cook tasting herbs wine")),
        ("crime", W("detective murder police gangster heist robbery crime suspect investigation evidence prison mafia thief witness trial corruption killer cop alibi fugitive smuggler ransom kidnapping forensic informant interrogation bribe cartel gun")),
        ("romance", W("love romance kiss wedding heart couple bride passion lover affair date valentine marriage flirt sweetheart proposal honeymoon longing desire soulmate crush engagement anniversary tender embrace romantic bouquet")),
        ("history", W("empire king queen castle medieval ancient dynasty emperor throne revolution pharaoh knight kingdom roman centuries monarch colonial crusade ruins chronicle treaty noble palace heir conquest pyramid tsar archive")),
        ("war", W("soldier army battle trench general bomb invasion tank frontline sniper regiment platoon artillery battlefield veteran enemy ceasefire troops military combat siege resistance commander missile bunker wartime")),
        ("horror", W("ghost haunted vampire zombie demon curse monster nightmare scream blood witch graveyard possessed creature terror coffin werewolf exorcism skeleton crypt evil sinister ritual haunting undead")),
        ("sports", W("football soccer basketball coach team championship stadium athlete tournament match goal referee league trophy boxing marathon olympic training rival victory season baseball tennis racing playoff")),
        ("music", W("band song guitar concert singer piano jazz album melody rock orchestra drummer tour rhythm violin opera choir lyrics studio record festival rapper symphony musician ballad")),
        ("fantasy", W("dragon wizard magic sword elf spell quest sorcerer enchanted potion prophecy dwarf fairy unicorn wand realm amulet troll goblin oracle legend myth giant sorceress")),
        ("technology", W("computer robot hacker software internet algorithm startup code network virtual artificial intelligence drone smartphone engineer digital data cyber machine silicon programmer gadget server app")),
        ("wildlife", W("forest jungle lion elephant wolf bear eagle river mountain wilderness tiger safari rainforest animal bird savanna glacier volcano migration canyon meadow valley gorilla leopard")),
        ("family", W("mother father daughter son sister brother grandmother childhood home parents siblings reunion holiday baby kids teenager neighbor christmas birthday adoption twins uncle aunt cousin")),
        ("politics", W("president election senator campaign government parliament vote minister democracy congress lobby diplomat policy debate candidate protest scandal mayor constitution embassy referendum")),
        ("medicine", W("doctor hospital nurse surgeon patient disease cure surgery epidemic clinic medicine diagnosis emergency vaccine cancer therapy ambulance pharmacy pandemic transplant illness paramedic")),
        ("travel", W("road car highway trip map train airport suitcase passport hotel tourist backpack motel border luggage flight hitchhiker postcard cruise sightseeing")),
        ("western", W("cowboy sheriff ranch horse saloon outlaw frontier cattle gunslinger prairie bandit wagon revolver bounty stagecoach railroad rodeo lasso marshal homestead")),
        ("art", W("painter museum gallery painting sculpture artist canvas portrait exhibition poet poetry novel writer theater actor stage masterpiece sketch ballet photographer")),
        ("science", W("scientist experiment laboratory physics chemistry discovery research theory genius professor invention atom evolution fossil dinosaur microscope particle genetics quantum")),
    ];

    private static readonly string[] Filler = W(
        "story life world young old new secret friends city night day lost dream unlikely hidden true long small great people man woman girl boy town years change hope danger mystery truth strange final last first past future together against journey");

    private static readonly string[] Connectors = W("a the of and with in after before when while where who must finds discovers follows against");

    private static string[] W(string words) => words.Split(' ', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Generates the catalog, the users and their interactions.</summary>
    /// <param name="options">Sizes, seed and noise; null for the defaults (3000 items, 1500 users, 20 topics, seed 42).</param>
    /// <returns>The data and its ground truth.</returns>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of its range.</exception>
    public static SyntheticData Generate(SyntheticCatalogOptions? options = null)
    {
        options ??= new SyntheticCatalogOptions();
        options.Validate();
        var vocabulary = Vocabulary;
        int topics = options.Topics, n = options.Items, users = options.Users;
        uint seed = unchecked((uint)options.Seed);
        var rng = new Draws(seed);

        // Topic prevalence: mildly skewed, so some genres are bigger than others.
        var prevalence = new double[topics];
        for (int t = 0; t < topics; t++) prevalence[t] = 1 / Math.Pow(t + 3, 0.7);

        // Cold items: a random ColdFraction of the ids.
        int coldCount = (int)Math.Round(options.ColdFraction * n, MidpointRounding.ToEven);
        var order = Enumerable.Range(0, n).Select(i => (Draw: rng.Uniform(), Index: i)).OrderBy(x => x.Draw).ThenBy(x => x.Index).ToArray();
        var isCold = new bool[n];
        for (int j = 0; j < coldCount; j++) isCold[order[j].Index] = true;

        var itemTopics = new float[(long)n * topics];
        var logPop = new double[n];
        var hidden = new double[n * HiddenFactors];
        var items = new CatalogItem[n];
        var text = new StringBuilder();
        for (int i = 0; i < n; i++)
        {
            int topicCount = rng.Uniform() switch { < 0.5 => 1, < 0.85 => 2, _ => 3 };
            var chosen = new List<int>(3);
            while (chosen.Count < topicCount)
            {
                int t = rng.Categorical(prevalence);
                if (!chosen.Contains(t)) chosen.Add(t);
            }

            double[] weights = [1.0, 0.5, 0.3];
            double total = 0;
            for (int c = 0; c < chosen.Count; c++) total += weights[c];
            for (int c = 0; c < chosen.Count; c++) itemTopics[(long)i * topics + chosen[c]] = (float)(weights[c] / total);
            logPop[i] = rng.Normal();
            for (int f = 0; f < HiddenFactors; f++) hidden[i * HiddenFactors + f] = rng.Normal();

            int year = isCold[i] ? 2024 + (int)(rng.Uniform() * 2) : 1960 + (int)(Math.Sqrt(rng.Uniform()) * 64);
            string title = Title(rng, vocabulary, chosen, topics);
            int words = options.MinDescriptionWords + (int)(rng.Uniform() * (options.MaxDescriptionWords - options.MinDescriptionWords + 1));
            string description = Description(rng, vocabulary, chosen, weights, topics, words, options.TextNoise, text);
            items[i] = new CatalogItem(i + 1, $"{title} ({year.ToString(CultureInfo.InvariantCulture)})", description,
                [vocabulary[chosen[0]].Name]); // the primary topic only: secondary topics show in the text alone
        }

        // Users: Dirichlet-like tastes with 1-3 favourite topics, hidden factors, an activity level and a start time.
        var tastes = new float[(long)users * topics];
        var userHidden = new double[users * HiddenFactors];
        var counts = new int[users];
        var starts = new long[users];
        for (int u = 0; u < users; u++)
        {
            int favourites = 1 + (int)(rng.Uniform() * 3);
            var shape = Enumerable.Repeat(0.15, topics).ToArray();
            for (int f = 0; f < favourites; f++) shape[rng.Categorical(prevalence)] += 1.5;
            double sum = 0;
            var g = new double[topics];
            for (int t = 0; t < topics; t++) sum += g[t] = rng.Gamma(shape[t]);
            for (int t = 0; t < topics; t++) tastes[(long)u * topics + t] = (float)(g[t] / sum);
            for (int f = 0; f < HiddenFactors; f++) userHidden[u * HiddenFactors + f] = rng.Normal();
            counts[u] = Math.Min(n, options.MinInteractions + (int)(rng.Uniform() * (options.MaxInteractions - options.MinInteractions + 1)));
            starts[u] = StartTime + (long)(rng.Uniform() * 365 * 86400);
        }

        // Interactions: per user, the Gumbel top-n of the utility (sampling without replacement), each user with its own generator.
        var perUser = new Rating[users][];
        Parallel.For(0, users, u =>
        {
            var r = new Draws(unchecked(seed * 2_654_435_761u + (uint)u * 40_503u + 1u));
            var utility = new double[n];
            var noisy = new double[n];
            for (int i = 0; i < n; i++)
            {
                double affinity = 0;
                for (int t = 0; t < topics; t++) affinity += tastes[(long)u * topics + t] * itemTopics[(long)i * topics + t];
                double h = 0;
                for (int f = 0; f < HiddenFactors; f++) h += userHidden[u * HiddenFactors + f] * hidden[i * HiddenFactors + f];
                utility[i] = options.TasteWeight * Math.Log(0.02 + affinity) + options.HiddenWeight * h / 2;
                noisy[i] = utility[i] + options.PopularityWeight * logPop[i] + r.Gumbel();
            }

            int k = counts[u];
            int[] picked = [.. Enumerable.Range(0, n).OrderByDescending(i => noisy[i]).ThenBy(i => i).Take(k)];
            double mean = picked.Average(i => utility[i]);
            double sd = Math.Sqrt(picked.Average(i => (utility[i] - mean) * (utility[i] - mean)));
            if (!(sd > 1e-9)) sd = 1;

            // Random order in time: a shuffle, then exponential gaps (mean 4 days).
            for (int j = picked.Length - 1; j > 0; j--)
            {
                int s = (int)(r.Uniform() * (j + 1));
                (picked[j], picked[s]) = (picked[s], picked[j]);
            }

            var list = new Rating[picked.Length];
            double time = starts[u];
            for (int j = 0; j < picked.Length; j++)
            {
                int i = picked[j];
                time += -Math.Log(1 - r.Uniform()) * 4 * 86400;
                double stars = Math.Round(3.6 + 1.1 * (utility[i] - mean) / sd + 0.8 * r.Normal());
                list[j] = new Rating(u + 1, i + 1, (float)Math.Clamp(stars, 1, 5), (long)time);
            }

            perUser[u] = list;
        });

        var history = new List<Rating>();
        var coldInteractions = new List<Rating>();
        foreach (Rating[] list in perUser)
        {
            foreach (Rating rating in list) (isCold[rating.Item - 1] ? coldInteractions : history).Add(rating);
        }

        // The log in time order (ties by user, then item), as a service would have recorded it.
        history.Sort((a, b) => a.Timestamp != b.Timestamp ? a.Timestamp.CompareTo(b.Timestamp) : a.User != b.User ? a.User.CompareTo(b.User) : a.Item.CompareTo(b.Item));
        coldInteractions.Sort((a, b) => a.User != b.User ? a.User.CompareTo(b.User) : a.Timestamp.CompareTo(b.Timestamp));
        var names = vocabulary.Take(topics).Select(v => v.Name).ToArray();
        var catalog = new ItemCatalog(items, names);
        string source = string.Create(CultureInfo.InvariantCulture, $"synthetic(items={n}, users={users}, topics={topics}, seed={options.Seed})");
        long[] coldIds = [.. Enumerable.Range(0, n).Where(i => isCold[i]).Select(i => (long)i + 1)];
        return new SyntheticData(new RatingDataset(history, catalog, source), coldIds, coldInteractions, names, itemTopics, tastes);
    }

    private static string Title(Draws rng, (string Name, string[] Words)[] vocabulary, List<int> chosen, int topics)
    {
        string Topic() => Cap(Pick(rng, vocabulary[rng.Uniform() < 0.75 ? chosen[0] : chosen[(int)(rng.Uniform() * chosen.Count)]].Words));
        string Fill() => Cap(Pick(rng, Filler));
        _ = topics;
        return (int)(rng.Uniform() * 6) switch
        {
            0 => $"The {Topic()}",
            1 => $"{Fill()} {Topic()}",
            2 => $"The {Fill()} {Topic()}",
            3 => $"{Topic()} of the {Topic()}",
            4 => $"The {Topic()} and the {Topic()}",
            _ => $"{Topic()} {Topic()}",
        };
    }

    private static string Description(Draws rng, (string Name, string[] Words)[] vocabulary, List<int> chosen, double[] weights, int topics,
        int words, double noise, StringBuilder text)
    {
        text.Clear();
        var topicWeights = chosen.Select((_, c) => weights[c]).ToArray();
        for (int w = 0; w < words; w++)
        {
            double p = rng.Uniform();
            string word;
            if (p < 0.5)
            {
                int t = rng.Uniform() < noise ? (int)(rng.Uniform() * topics) : chosen[rng.Categorical(topicWeights)];
                word = Pick(rng, vocabulary[t].Words);
            }
            else if (p < 0.8)
            {
                word = Pick(rng, Filler);
            }
            else
            {
                word = Pick(rng, Connectors);
            }

            if (w == 0) word = Cap(word);
            else text.Append(rng.Uniform() < 0.1 && w < words - 1 ? ", " : " ");
            text.Append(word);
        }

        return text.Append('.').ToString();
    }

    private static string Pick(Draws rng, string[] words) => words[(int)(rng.Uniform() * words.Length)];

    private static string Cap(string word) => word.Length == 0 ? word : char.ToUpperInvariant(word[0]) + word[1..];

    /// <summary>Draws from a <see cref="MersenneTwister"/>: uniform, normal, gamma, Gumbel, categorical.</summary>
    private sealed class Draws(uint seed)
    {
        private readonly MersenneTwister _mt = new(seed);

        public double Uniform() => _mt.NextDouble();

        /// <summary>In (0, 1): safe for logarithms.</summary>
        public double Open() => (_mt.NextDouble() * (1 - 2e-16)) + 1e-16;

        public double Normal() => Math.Sqrt(-2 * Math.Log(Open())) * Math.Cos(2 * Math.PI * Uniform());

        public double Gumbel() => -Math.Log(-Math.Log(Open()));

        /// <summary>Marsaglia and Tsang; shapes below 1 by the boost u^(1/shape).</summary>
        public double Gamma(double shape)
        {
            if (shape < 1) return Gamma(shape + 1) * Math.Pow(Open(), 1 / shape);
            double d = shape - 1.0 / 3, c = 1 / Math.Sqrt(9 * d);
            while (true)
            {
                double x = Normal(), v = 1 + c * x;
                if (v <= 0) continue;
                v = v * v * v;
                double u = Open();
                if (Math.Log(u) < 0.5 * x * x + d - d * v + d * Math.Log(v)) return d * v;
            }
        }

        public int Categorical(double[] weights)
        {
            double total = 0;
            foreach (double w in weights) total += w;
            double x = Uniform() * total;
            for (int i = 0; i < weights.Length; i++)
            {
                x -= weights[i];
                if (x < 0) return i;
            }

            return weights.Length - 1;
        }
    }
}
