using Registry.Benchmarks;

// Every figure is a ratio against a baseline measured in the same run: these machines are shared and noisy.
using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};
return await BenchmarkRunner.MainAsync(args, Console.Out, Console.Error, cancel.Token);
