using System.Globalization;

namespace Registry.Benchmarks.Processes;

/// <summary>
/// CPU time a process spends from now on, in nanoseconds of every thread's run time (/proc/&lt;pid&gt;/task/*/schedstat):
/// far finer than the 10 ms ticks of /proc/&lt;pid&gt;/stat, which a short run would round to nothing. Each thread is
/// compared with itself, so a thread that exits in between costs only its own last moments, never the total.
/// </summary>
internal sealed class CpuMeter
{
    private readonly int _pid;
    private readonly Dictionary<int, long> _start;

    private CpuMeter(int pid)
    {
        _pid = pid;
        _start = Snapshot(pid);
    }

    public static CpuMeter Start(int pid) => new(pid);

    /// <summary>CPU seconds (user and system, all threads) since <see cref="Start"/>.</summary>
    public double Seconds()
    {
        long total = 0;
        foreach (var (thread, now) in Snapshot(_pid))
        {
            total += now - _start.GetValueOrDefault(thread);
        }
        return total / 1e9;
    }

    private static Dictionary<int, long> Snapshot(int pid)
    {
        var threads = new Dictionary<int, long>();
        foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
        {
            try
            {
                var text = File.ReadAllText(Path.Combine(task, "schedstat"));
                threads[int.Parse(Path.GetFileName(task), CultureInfo.InvariantCulture)] =
                    long.Parse(text.AsSpan(0, text.IndexOf(' ', StringComparison.Ordinal)), CultureInfo.InvariantCulture);
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or IOException)
            {
                // The thread exited while the folder was listed.
            }
        }
        return threads.Count > 0 ? threads : throw new InvalidOperationException($"no threads under /proc/{pid}/task");
    }
}
