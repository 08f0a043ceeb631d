using Registry.Host;

var app = RegistryHost.Build(args);
await RegistryHost.PrepareStorageAsync(app, CancellationToken.None);
await app.RunAsync();
