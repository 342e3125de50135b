using System.CommandLine;

namespace Vec.Cli.Commands;

/// <summary><c>vecrec index</c>.</summary>
internal static class IndexCommand
{
    public static Command Create(CliContext context)
    {
        var command = new Command("index", "Build and search vector indexes over .fvecs files.");
        command.SetAction(_ => Placeholder("vecrec index is being rebuilt on System.CommandLine (placeholder)"));
        _ = context;
        return command;
    }

    private static int Placeholder(string message) => throw new CliException(message);
}
