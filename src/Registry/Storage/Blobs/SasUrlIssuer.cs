using Azure.Storage.Blobs;
using Azure.Storage.Sas;
using Microsoft.Extensions.Options;

namespace Registry.Storage.Blobs;

/// <summary>
/// Mints the short-lived, read-only SAS URL a pull is redirected to, scoped to exactly one blob.
/// With a shared key (Azurite) it signs with the account key; with an Entra identity it signs with a
/// user-delegation key, fetched once and reused until shortly before it expires.
/// </summary>
public sealed class SasUrlIssuer(StorageClients clients, IOptions<StorageOptions> options, TimeProvider time) : IDisposable
{
    private static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan DelegationKeyLifetime = TimeSpan.FromHours(6);

    private readonly SemaphoreSlim _keyLock = new(1, 1);
    private Azure.Storage.Blobs.Models.UserDelegationKey? _delegationKey;

    /// <summary>A URL that lets its holder read <paramref name="blobName"/> until the SAS lifetime runs out.</summary>
    public async Task<Uri> ReadUrlAsync(string blobName, CancellationToken cancellationToken)
    {
        var blob = clients.Container.GetBlobClient(blobName);
        var now = time.GetUtcNow();
        var builder = new BlobSasBuilder(BlobSasPermissions.Read, now + options.Value.SasLifetime)
        {
            BlobContainerName = blob.BlobContainerName,
            BlobName = blob.Name,
            Resource = "b",
            StartsOn = now - ClockSkew,
            Protocol = blob.Uri.Scheme == Uri.UriSchemeHttps ? SasProtocol.Https : SasProtocol.HttpsAndHttp,
        };
        if (blob.CanGenerateSasUri)
        {
            return blob.GenerateSasUri(builder);
        }
        var key = await DelegationKeyAsync(now, cancellationToken);
        var query = builder.ToSasQueryParameters(key, clients.BlobService.AccountName);
        return new BlobUriBuilder(blob.Uri) { Sas = query }.ToUri();
    }

    private async Task<Azure.Storage.Blobs.Models.UserDelegationKey> DelegationKeyAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var current = _delegationKey;
        if (current is not null && current.SignedExpiresOn - now > options.Value.SasLifetime + ClockSkew)
        {
            return current;
        }
        await _keyLock.WaitAsync(cancellationToken);
        try
        {
            current = _delegationKey;
            if (current is null || current.SignedExpiresOn - now <= options.Value.SasLifetime + ClockSkew)
            {
                current = (await clients.BlobService.GetUserDelegationKeyAsync(now - ClockSkew, now + DelegationKeyLifetime, cancellationToken)).Value;
                _delegationKey = current;
            }
            return current;
        }
        finally
        {
            _keyLock.Release();
        }
    }

    public void Dispose() => _keyLock.Dispose();
}
