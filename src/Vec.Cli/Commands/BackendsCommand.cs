using System.CommandLine;
using Spectre.Console;
using Vec.Kernels;

namespace Vec.Cli.Commands;

/// <summary><c>vecrec backends</c>: the kernel backends, which are available, and which one is the default.</summary>
internal static class BackendsCommand
{
    public static Command Create(CliContext context)
    {
        var command = new Command("backends", $"List the kernel backends and which one is used by default (set {KernelBackends.EnvironmentVariable} to force one).");
        command.SetAction(_ =>
        {
            var table = new Table().AddColumns("backend", "available", "description");
            foreach (var b in KernelBackends.All)
                table.AddRow(Markup.Escape(b.Name), b.IsAvailable ? "yes" : "no", Markup.Escape(b.Description));
            context.Console.Write(table);
            context.Output.WriteLine($"default: {KernelBackends.DefaultName} (set {KernelBackends.EnvironmentVariable} to force one)");
            return 0;
        });
        return command;
    }
}
