using Registry.Host;

// The startup preparation (tables, signing key, owner) starts with the host and runs beside it: see StartupPreparation.
await RegistryHost.Build(args).RunAsync();
