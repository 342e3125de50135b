using System.CommandLine;

namespace Vec.Cli.Commands;

/// <summary><c>vecrec recommend</c>.</summary>
internal static class RecommendCommand
{
    public static Command Create(CliContext context)
    {
        var command = new Command("recommend", "Recommend items for a user or a free-text need, with titles and explanations.");
        command.SetAction(_ => Placeholder("vecrec recommend is being rebuilt on System.CommandLine (placeholder)"));
        _ = context;
        return command;
    }

    private static int Placeholder(string message) => throw new CliException(message);
}
