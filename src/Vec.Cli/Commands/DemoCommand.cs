using System.CommandLine;

namespace Vec.Cli.Commands;

/// <summary><c>vecrec demo</c>.</summary>
internal static class DemoCommand
{
    public static Command Create(CliContext context)
    {
        var command = new Command("demo", "Run the main job: generated catalog (or MovieLens with --data), embeddings, IVF-PQ, CF + content + hybrid recommenders, evaluation and a report folder.");
        command.SetAction(_ => Placeholder("vecrec demo is being rebuilt on System.CommandLine (placeholder)"));
        _ = context;
        return command;
    }

    private static int Placeholder(string message) => throw new CliException(message);
}
