namespace Vec.Cli;

/// <summary>Entry point of the <c>vecrec</c> command line.</summary>
public static class Program
{
    /// <summary>Runs a command on the process's console; returns the process exit code.</summary>
    /// <param name="args">Command-line arguments.</param>
    public static int Main(string[] args) => VecRecCli.Run(args, Console.Out, Console.Error);
}
