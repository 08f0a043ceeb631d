namespace Registry.Benchmarks.Load;

/// <summary>A client for our registry and one for Distribution: what most workloads measure side by side.</summary>
internal sealed class ClientPair(OciClient ours, OciClient distribution) : IDisposable
{
    public OciClient Ours => ours;

    public OciClient Distribution => distribution;

    /// <summary>Ours, then the baseline: the order every round interleaves them in.</summary>
    public IReadOnlyList<OciClient> Both { get; } = [ours, distribution];

    public void Dispose()
    {
        ours.Dispose();
        distribution.Dispose();
    }
}
