using Registry.Tests.Fixtures;

namespace Registry.Tests.Clients;

/// <summary>
/// The real-client tests share one registry process and one Docker engine, and run alone: one at a time and
/// beside no other collection, so a memory measurement sees no one else's traffic.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RealClientsGroup : ICollectionFixture<RegistryProcess>
{
    public const string Name = "real-clients";
}
