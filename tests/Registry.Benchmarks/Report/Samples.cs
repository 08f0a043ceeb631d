namespace Registry.Benchmarks.Report;

/// <summary>The figures of every round, by name; a row reports their median.</summary>
internal sealed class Samples
{
    private readonly Dictionary<string, List<double>> _values = new(StringComparer.Ordinal);

    public void Add(string name, double value)
    {
        if (!double.IsFinite(value))
        {
            throw new InvalidOperationException($"{name}: measured {value}");
        }
        if (!_values.TryGetValue(name, out var list))
        {
            _values[name] = list = [];
        }
        list.Add(value);
    }

    public double Median(string name) =>
        _values.TryGetValue(name, out var list) ? Stats.Median(list) : throw new InvalidOperationException($"nothing measured for {name}");
}
