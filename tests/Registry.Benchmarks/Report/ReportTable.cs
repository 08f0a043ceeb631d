using System.Globalization;

namespace Registry.Benchmarks.Report;

/// <summary>Prints the report as a fixed-width table, then its notes.</summary>
internal static class ReportTable
{
    private static readonly string[] Headers = ["workload", "metric", "ours", "baseline", "figure", "ratio", "better", "goal", "met"];

    public static void Write(TextWriter output, BenchmarkReport report, string header)
    {
        output.WriteLine(header);
        output.WriteLine("ratio = ours ÷ baseline; 'better' says whether a higher or a lower figure is the good direction.");
        var cells = report.Rows.Select(Cells).Prepend(Headers).ToList();
        var widths = Enumerable.Range(0, Headers.Length).Select(c => cells.Max(r => r[c].Length)).ToArray();
        var numeric = new[] { false, false, true, false, true, true, false, false, false };
        foreach (var (row, index) in cells.Select((r, i) => (r, i)))
        {
            output.WriteLine(string.Join("  ", row.Select((cell, c) => numeric[c] ? cell.PadLeft(widths[c]) : cell.PadRight(widths[c]))).TrimEnd());
            if (index == 0)
            {
                output.WriteLine(string.Join("  ", widths.Select(w => new string('-', w))));
            }
        }
        if (report.Notes.Count > 0)
        {
            output.WriteLine();
            foreach (var note in report.Notes)
            {
                output.WriteLine("- " + note);
            }
        }
        output.WriteLine();
        output.WriteLine($"total time {report.Elapsed.TotalSeconds:F0} s");
    }

    public static string Figure(double value) => value switch
    {
        _ when Math.Abs(value) >= 100 || value == Math.Floor(value) => value.ToString("N0", CultureInfo.InvariantCulture),
        _ when Math.Abs(value) >= 10 => value.ToString("F1", CultureInfo.InvariantCulture),
        _ => value.ToString("F2", CultureInfo.InvariantCulture),
    };

    private static string[] Cells(Row row) =>
    [
        row.Workload,
        row.Metric,
        Figure(row.Ours),
        row.BaselineName,
        row.Baseline is { } b ? Figure(b) : "—",
        row.Ratio is { } r ? r.ToString("F2", CultureInfo.InvariantCulture) : "—",
        row.Better == Better.Higher ? "higher" : "lower",
        row.Goal,
        row.Met switch { true => "yes", false => "NO", null => "" },
    ];
}
