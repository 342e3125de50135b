using System.CommandLine;

namespace Vec.Cli.Commands;

/// <summary><c>vecrec bench</c>.</summary>
internal static class BenchCommand
{
    public static Command Create(CliContext context)
    {
        var command = new Command("bench", "Benchmarks: kernel throughput and approximate search sweeps.");
        command.SetAction(_ => Placeholder("vecrec bench is being rebuilt on System.CommandLine (placeholder)"));
        _ = context;
        return command;
    }

    private static int Placeholder(string message) => throw new CliException(message);
}
