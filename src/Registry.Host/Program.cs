using Registry.Host;

// Storage preparation (tables, signing key, owner) starts with the host and runs beside it: see StoragePreparation.
await RegistryHost.Build(args).RunAsync();
