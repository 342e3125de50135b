using BenchmarkDotNet.Running;
using Vec.Kernels;

namespace Vec.Bench;

/// <summary>Entry point: <c>kernels</c> (throughput table), <c>search-compare</c> (VecRec vs FAISS), <c>ann</c> (approximate index sweep), <c>gen-lowdim</c> (ANN data set), <c>pqscan</c> (IVF-PQ scan loop), <c>embed</c> (text encoder throughput), <c>rec</c> (recommender fit/recommend times) and <c>bdn</c> (BenchmarkDotNet suites).</summary>
public static class Program
{
    private const string Usage = """
        usage: Vec.Bench kernels [--backend NAME]... [--threads N] [--quick] [--json FILE | --save]
               Vec.Bench search-compare [--backend NAME]... [--threads N] [--quick] [--json FILE | --save] [--python PATH]
               Vec.Bench ann --base FILE.fvecs --query FILE.fvecs [--gt FILE.ivecs] [--metric l2|ip|cosine] [--index flat|ivfpq]
                             [--nlist N] [--m M] [--nbits B] [--nprobe 1,2,4,...] [--refine R] [--refine-storage f32|f16] [--opq]
                             [--k K] [--threads T] [--backend NAME] [--seed S] [--single-queries N] [--quick] [--json FILE]
               Vec.Bench gen-lowdim --out DIR [--n 100000] [--queries 1000] [--dim 384] [--intrinsic 24] [--clusters 64] [--seed 7]
               Vec.Bench pqscan [--quick]                 (the IVF-PQ list scan alone, every strategy)
               Vec.Bench fastscan [--quick]               (the 4-bit PQ fast-scan kernel, every kind, vs 8-bit Unrolled)
               Vec.Bench embed [--model DIR] [--threads N] [--batch-sizes 1,8,32,128,256] [--repeats N] [--peer] [--python PATH] [--quick] [--json FILE]
               Vec.Bench rec [--data DIR] [--algo pop,sar,...] [--repeats N] [--threads N] [--peer] [--python PATH] [--json FILE]
               Vec.Bench tune-cf --out FILE [--model itemknn|userknn|rp3b|ease|als|rp3b-2|als-2]...   (the CF hyperparameter search, minutes)
               Vec.Bench charts [--results DIR] [--out DIR]   (the PNG charts of docs/ from bench/results)
               Vec.Bench bdn [BenchmarkDotNet args, e.g. --filter *Search*]
               Vec.Bench backends
        kernels and ann are the same code as 'vecrec bench kernels|ann' (src/Vec.Cli/Bench), which add --plot FILE.png.
        Default backends: every available one except scalar and ilgpu-cpu (allowed explicitly with --quick).
        --json FILE also writes FILE with the extension .md (markdown table); --save picks
        bench/results/<cpu-slug>/<mode>[-smoke]-<utc time>.json. See docs/benchmarks.md.
        """;

    /// <summary>Runs a mode; returns the process exit code.</summary>
    public static int Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help")
        {
            Console.WriteLine(Usage);
            return args.Length == 0 ? 1 : 0;
        }
        try
        {
            switch (args[0])
            {
                case "kernels": return KernelTable.Run(args[1..]);
                case "search-compare": return SearchCompare.Run(args[1..]);
                case "ann": return Ann.Run(args[1..]);
                case "gen-lowdim": return GenLowDim.Run(args[1..]);
                case "pqscan": return PqScanBench.Run(args[1..]);
                case "fastscan": return FastScanBench.Run(args[1..]);
                case "charts": return Charts.Run(args[1..]);
                case "embed": return EmbedBench.Run(args[1..]);
                case "rec": return RecBench.Run(args[1..]);
                case "tune-cf": return CfTuning.Run(args[1..]);
                case "bdn":
                    BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args[1..]);
                    return 0;
                case "backends":
                    foreach (var b in KernelBackends.All)
                        Console.WriteLine($"{b.Name,-12} {(b.IsAvailable ? "available" : "unavailable"),-12} {(Data.IsSlow(b.Name) ? "slow " : "")}{b.Description}");
                    return 0;
                default:
                    Console.Error.WriteLine($"Vec.Bench: unknown mode '{args[0]}'\n{Usage}");
                    return 2;
            }
        }
        catch (Exception e) when (e is ArgumentException or Vec.Cli.CliException)
        {
            Console.Error.WriteLine($"Vec.Bench: {e.Message}");
            return 2;
        }
        catch (Exception e) when (e is InvalidDataException or FileNotFoundException or DirectoryNotFoundException or NotImplementedException)
        {
            Console.Error.WriteLine($"Vec.Bench: {e.Message}");
            return 3;
        }
    }
}
