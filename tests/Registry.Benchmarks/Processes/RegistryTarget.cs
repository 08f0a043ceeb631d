namespace Registry.Benchmarks.Processes;

/// <summary>
/// A registry the load generator talks to: its name in the report, its address, its process (for /proc readings)
/// and, for ours, the owner's credentials that buy Bearer tokens.
/// </summary>
internal sealed record RegistryTarget(string Name, Uri BaseAddress, int ProcessId, OwnerCredentials? Credentials);

/// <summary>Basic credentials for the token endpoint.</summary>
internal sealed record OwnerCredentials(string User, string Password);
