namespace Vec.Cli.Demo;

/// <summary>What <c>vecrec demo</c> was asked to do.</summary>
internal sealed record DemoSettings(int Items, int Users, int Seed, int K, string? ModelFolder, bool ForceHashing, string? DataFolder,
    string OutFolder, string? Backend, string? Query, string Cf);

/// <summary>Everything the demo printed, as written to <c>results.json</c> and <c>--json</c>.</summary>
internal sealed record DemoResults
{
    public required string Data { get; init; }
    public required DemoSettingsInfo Settings { get; init; }
    public required EncoderInfo Encoder { get; init; }
    public required DataSummary Summary { get; init; }
    public required IndexSummary Index { get; init; }
    public required IReadOnlyList<ModelScore> Warm { get; init; }
    public required IReadOnlyList<ModelScore> Cold { get; init; }
    public required double RandomColdPrecision { get; init; }
    public required double HybridAlpha { get; init; }
    public required IReadOnlyList<UserSample> Samples { get; init; }
    public required SimilarItems MoreLikeThis { get; init; }
    public required TextQuery Query { get; init; }
    public required IReadOnlyList<StepTiming> Timings { get; init; }
    public required double TotalSeconds { get; init; }
    public required string ReportFolder { get; init; }
    public required IReadOnlyList<string> Notes { get; init; }
}

internal sealed record DemoSettingsInfo(int? Items, int? Users, int Seed, int K, string Backend, string? DataFolder, string Cf);

/// <summary>The text encoder used and why it was chosen.</summary>
internal sealed record EncoderInfo(string Kind, string ModelId, int Dimension, string Reason);

internal sealed record DataSummary(int Users, int Items, int Topics, int TrainInteractions, int TestInteractions, int ColdItems, int ColdInteractions,
    int WarmTestUsers, int ColdTestUsers);

internal sealed record RecallPoint(int NProbe, double RecallAt10, double MicrosecondsPerQuery, double RefinedRecallAt10, double RefinedMicrosecondsPerQuery);

internal sealed record IndexSummary(int Vectors, int Dimension, int Lists, int SubQuantizers, int Bits, double TrainSeconds, double AddSeconds,
    double BytesPerVector, double FlatBytesPerVector, int Queries, IReadOnlyList<RecallPoint> Recall, string? Warning);

/// <summary>One model's ranking metrics at k.</summary>
internal sealed record ModelScore(string Model, int Users, double Precision, double Recall, double Ndcg, double Map, double HitRate, double Coverage,
    double FitSeconds);

internal sealed record Recommended(long Id, string Title, double Score, bool New, bool Hit, IReadOnlyList<string> Because);

internal sealed record UserSample(long User, IReadOnlyList<string> Taste, IReadOnlyList<string> RecentHistory, IReadOnlyList<Recommended> Recommendations);

internal sealed record SimilarItem(long Id, string Title, double Score);

internal sealed record SimilarItems(long Id, string Title, int NProbe, IReadOnlyList<SimilarItem> Items);

internal sealed record TextQuery(string Text, IReadOnlyList<SimilarItem> Anonymous, long PersonalisedFor, IReadOnlyList<SimilarItem> Personalised);

/// <summary>Wall and CPU seconds of one step (CPU above wall means both cores worked; wall above CPU means waiting or a busy machine).</summary>
internal sealed record StepTiming(string Step, double Seconds, double CpuSeconds);
