using System.Diagnostics;
using System.Globalization;
using Spectre.Console;

namespace Vec.Cli.Output;

/// <summary>
/// Long jobs (embedding, k-means, adding, fitting, evaluating) shown as Spectre.Console progress bars on a terminal and as
/// one plain line with the elapsed time otherwise (pipes, tests, CI logs).
/// </summary>
internal static class Jobs
{
    /// <summary>Runs <paramref name="work"/>, which reports its progress as a fraction in [0, 1].</summary>
    /// <param name="context">The invocation.</param>
    /// <param name="description">What is being done, e.g. <c>Embedding 5,000 texts</c>.</param>
    /// <param name="work">The job; it may ignore the progress reporter.</param>
    /// <returns>What <paramref name="work"/> returned.</returns>
    public static T Run<T>(CliContext context, string description, Func<IProgress<double>, T> work)
    {
        var watch = Stopwatch.StartNew();
        T result;
        if (context.Interactive)
        {
            T? value = default;
            context.Console.Progress()
                .AutoClear(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                .Start(ctx =>
                {
                    ProgressTask task = ctx.AddTask(Markup.Escape(description), maxValue: 1.0);
                    value = work(new TaskProgress(task));
                    task.Value = 1.0;
                });
            result = value!;
        }
        else
        {
            result = work(NoProgress.Instance);
            context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{description}: {watch.Elapsed.TotalSeconds:F2} s"));
        }

        return result;
    }

    /// <summary>Runs <paramref name="work"/> as a job with no result.</summary>
    public static void Run(CliContext context, string description, Action<IProgress<double>> work) =>
        Run<object?>(context, description, p => { work(p); return null; });

    private sealed class TaskProgress(ProgressTask task) : IProgress<double>
    {
        public void Report(double value) => task.Value = Math.Clamp(value, 0, 1);
    }

    private sealed class NoProgress : IProgress<double>
    {
        public static readonly NoProgress Instance = new();

        public void Report(double value)
        {
        }
    }
}
