using System.CommandLine;

namespace Vec.Cli.Commands;

/// <summary><c>vecrec model</c>.</summary>
internal static class ModelCommand
{
    public static Command Create(CliContext context)
    {
        var command = new Command("model", "Download and list sentence-transformers models in the model cache.");
        command.SetAction(_ => Placeholder("vecrec model is being rebuilt on System.CommandLine (placeholder)"));
        _ = context;
        return command;
    }

    private static int Placeholder(string message) => throw new CliException(message);
}
