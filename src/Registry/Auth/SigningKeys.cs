using System.Security.Cryptography;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using Registry.Storage;

namespace Registry.Auth;

/// <summary>
/// The key that signs the registry's tokens and the keys that verify them. Every instance of the registry must sign
/// with the same key, or a token issued by one would be refused by the next: <c>Auth:SigningKeyPem</c> when
/// configured (a Key Vault reference in app settings works), otherwise one P-256 key kept in table <c>auth</c>
/// (PartitionKey <c>~signing</c>, RowKey <c>current</c>, property <c>Pem</c>: PKCS#8), created create-only by the first
/// instance that finds none, so instances racing at their first start all end up with the winner's key.
/// <c>Auth:VerificationKeysPem</c> adds keys that still verify (rotation).
/// </summary>
public sealed class SigningKeys : IDisposable
{
    private const string Partition = "~signing";
    private const string Row = "current";

    private readonly AuthOptions _options;
    private readonly StorageClients? _clients;
    private readonly List<ECDsa> _owned = [];

    // IdentityModel caches signature providers by key id in its process-wide default factory; a factory of our own
    // keeps another instance's disposed key (same id: same shared key) out of this one's cache.
    private readonly CryptoProviderFactory _factory = new();
    private SigningCredentials? _credentials;
    private List<SecurityKey> _verification = [];

    public SigningKeys(IOptions<AuthOptions> options, StorageClients clients)
        : this(options?.Value ?? throw new ArgumentNullException(nameof(options)), clients)
    {
    }

    private SigningKeys(AuthOptions options, StorageClients? clients)
    {
        _options = options;
        _clients = clients;
        if (!string.IsNullOrWhiteSpace(options.SigningKeyPem))
        {
            Use(options.SigningKeyPem);
        }
    }

    /// <summary>Keys from <paramref name="options"/> alone: its PEM, or a fresh key held in memory only (tests, tools).</summary>
    public static SigningKeys FromOptions(AuthOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var keys = new SigningKeys(options, null);
        if (keys._credentials is null)
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            keys.Use(key.ExportPkcs8PrivateKeyPem());
        }
        return keys;
    }

    /// <summary>The signing credentials. Throws until <see cref="LoadAsync"/> ran (or a PEM was configured).</summary>
    public SigningCredentials Credentials =>
        _credentials ?? throw new InvalidOperationException("the signing key is not loaded: call SigningKeys.LoadAsync at startup");

    /// <summary>The signing key's public half and every configured verification key.</summary>
    public IReadOnlyList<SecurityKey> VerificationKeys => _verification;

    /// <summary>
    /// Reads the shared key from table <c>auth</c>, creating it when absent. Does nothing when a PEM is configured
    /// or the key is already loaded. Storage failures propagate: an instance that cannot read the key must not start.
    /// </summary>
    public async Task LoadAsync(CancellationToken cancellationToken)
    {
        if (_credentials is not null)
        {
            return;
        }
        var table = (_clients ?? throw new InvalidOperationException("no storage to load the signing key from")).AuthTable;
        var existing = await table.GetEntityIfExistsAsync<TableEntity>(Partition, Row, ["Pem"], cancellationToken);
        if (existing.HasValue && existing.Value!.GetString("Pem") is { Length: > 0 } stored)
        {
            Use(stored);
            return;
        }
        using var fresh = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var pem = fresh.ExportPkcs8PrivateKeyPem();
        try
        {
            await table.AddEntityAsync(new TableEntity(Partition, Row) { ["Pem"] = pem }, cancellationToken);
            Use(pem);
        }
        catch (RequestFailedException e) when (e.Status == 409)
        {
            var winner = await table.GetEntityAsync<TableEntity>(Partition, Row, ["Pem"], cancellationToken);
            Use(winner.Value.GetString("Pem"));
        }
    }

    private void Use(string pem)
    {
        var signing = ECDsa.Create();
        signing.ImportFromPem(pem);
        _owned.Add(signing);
        var signingKey = new ECDsaSecurityKey(signing) { KeyId = KeyId(signing), CryptoProviderFactory = _factory };
        var verification = new List<SecurityKey> { signingKey };
        foreach (var extra in _options.VerificationKeysPem)
        {
            var key = ECDsa.Create();
            key.ImportFromPem(extra);
            _owned.Add(key);
            verification.Add(new ECDsaSecurityKey(key) { KeyId = KeyId(key), CryptoProviderFactory = _factory });
        }
        _verification = verification;
        _credentials = new SigningCredentials(signingKey, SecurityAlgorithms.EcdsaSha256);
    }

    private static string KeyId(ECDsa key) =>
        Base64UrlEncoder.Encode(SHA256.HashData(key.ExportSubjectPublicKeyInfo())[..16]);

    public void Dispose()
    {
        foreach (var key in _owned)
        {
            key.Dispose();
        }
    }
}
