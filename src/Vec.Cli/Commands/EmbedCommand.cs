using System.CommandLine;

namespace Vec.Cli.Commands;

/// <summary><c>vecrec embed</c>.</summary>
internal static class EmbedCommand
{
    public static Command Create(CliContext context)
    {
        var command = new Command("embed", "Embed texts (.txt one per line, or .tsv id<TAB>text) into an .fvecs file.");
        command.SetAction(_ => Placeholder("vecrec embed is being rebuilt on System.CommandLine (placeholder)"));
        _ = context;
        return command;
    }

    private static int Placeholder(string message) => throw new CliException(message);
}
