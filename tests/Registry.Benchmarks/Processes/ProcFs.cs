using System.Globalization;

namespace Registry.Benchmarks.Processes;

/// <summary>What Linux's /proc says about a process's resident memory.</summary>
internal static class ProcFs
{
    /// <summary>Peak resident set size (VmHWM) in bytes, since start or since <see cref="ResetPeakRss"/>.</summary>
    public static long PeakRssBytes(int pid) => StatusKilobytes(pid, "VmHWM:") * 1024;

    /// <summary>Current resident set size (VmRSS) in bytes.</summary>
    public static long RssBytes(int pid) => StatusKilobytes(pid, "VmRSS:") * 1024;

    /// <summary>Lowers the peak (VmHWM) to the current resident size, so the next read shows the peak of what ran in between.</summary>
    public static void ResetPeakRss(int pid) => File.WriteAllText($"/proc/{pid}/clear_refs", "5");

    private static long StatusKilobytes(int pid, string field)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith(field, StringComparison.Ordinal))
            {
                return long.Parse(line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
            }
        }
        throw new InvalidOperationException($"no {field} in /proc/{pid}/status");
    }
}
