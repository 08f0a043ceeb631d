using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using Registry.Auth;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Auth;

/// <summary>docs/reliability.md rows 42–45 at the verifier: expiry, audience, issuer, algorithm confusion, embedded keys; and row F13, an issuer with a skewed clock.</summary>
public sealed class AccessTokensTests
{

    private static readonly DateTimeOffset Start = new(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly ResourceAccess[] PullA = [new("repository", "a", ["pull"])];

    private static (AccessTokens Tokens, ManualClock Clock) Create(Action<AuthOptions>? configure = null, string? pem = null, DateTimeOffset? start = null)
    {
        var options = new AuthOptions { SigningKeyPem = pem };
        configure?.Invoke(options);
        var clock = new ManualClock(start ?? Start);
        return (new AccessTokens(Options.Create(options), SigningKeys.FromOptions(options), clock), clock);
    }

    private static string Pem()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return key.ExportECPrivateKeyPem();
    }

    [Fact]
    public async Task IssuedToken_Validates_WithItsAccessClaim()
    {
        var (tokens, _) = Create();
        var grant = await tokens.ValidateAccessAsync(tokens.IssueAccess("ci", PullA).Token);
        Assert.NotNull(grant);
        Assert.Equal("ci", grant.Subject);
        Assert.Equal("a", Assert.Single(grant.Access).Name);
        Assert.Equal(["pull"], grant.Access[0].Actions);
    }

    [Fact]
    public async Task Row42_Expired_OrNotYetValid_IsRejected_InsideTheLeewayAccepted()
    {
        var (tokens, clock) = Create();
        var token = tokens.IssueAccess("ci", PullA).Token;
        clock.Now = Start + TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(20);
        Assert.NotNull(await tokens.ValidateAccessAsync(token));
        clock.Now = Start + TimeSpan.FromMinutes(6);
        Assert.Null(await tokens.ValidateAccessAsync(token));
        clock.Now = Start - TimeSpan.FromMinutes(2);
        Assert.Null(await tokens.ValidateAccessAsync(token));
    }

    [Fact]
    public async Task Row42_ATokenVerifiedBefore_IsStillRejectedOutsideItsLifetime()
    {
        // Near the real time, so the verified token is remembered (it would be dropped at once for a past clock).
        var now = DateTimeOffset.UtcNow;
        var (tokens, clock) = Create(start: now);
        var token = tokens.IssueAccess("ci", PullA).Token;
        Assert.NotNull(await tokens.ValidateAccessAsync(token));
        Assert.NotNull(await tokens.ValidateAccessAsync(token));
        clock.Now = now + TimeSpan.FromMinutes(6);
        Assert.Null(await tokens.ValidateAccessAsync(token));
        clock.Now = now - TimeSpan.FromMinutes(2);
        Assert.Null(await tokens.ValidateAccessAsync(token));
        clock.Now = now;
        Assert.Equal("ci", (await tokens.ValidateAccessAsync(token))!.Subject);
    }

    /// <summary>
    /// docs/reliability.md row F13 between instances: a token issued by an instance whose clock is off the verifier's. It
    /// passes while the verifier's time is inside the token's lifetime (5 minutes) widened by <c>Auth:ClockSkew</c> (30 s)
    /// at both ends: an issuer 20 s ahead or 5 minutes behind is inside, one 31 s or 5 minutes ahead, or 5.5 minutes
    /// and a second behind, is outside.
    /// </summary>
    [Theory]
    [InlineData(20, true)]
    [InlineData(-20, true)]
    [InlineData(-300, true)]
    [InlineData(31, false)]
    [InlineData(300, false)]
    [InlineData(-331, false)]
    public async Task F13_TokenFromAnInstanceWhoseClockIsSkewed_IsAcceptedInsideTheLeeway_RejectedOutside(int issuerAheadSeconds, bool accepted)
    {
        var pem = Pem();
        var (verifier, _) = Create(pem: pem);
        var (issuer, _) = Create(pem: pem, start: Start + TimeSpan.FromSeconds(issuerAheadSeconds));
        var grant = await verifier.ValidateAccessAsync(issuer.IssueAccess("ci", PullA).Token);
        Assert.Equal(accepted, grant is not null);
    }

    [Fact]
    public async Task Row42_OtherAudienceOrIssuer_IsRejected()
    {
        var pem = Pem();
        var (ours, _) = Create(pem: pem);
        var (otherService, _) = Create(o => o.Service = "elsewhere", pem);
        var (otherIssuer, _) = Create(o => o.Issuer = "someone-else", pem);
        Assert.Null(await ours.ValidateAccessAsync(otherService.IssueAccess("ci", PullA).Token));
        Assert.Null(await ours.ValidateAccessAsync(otherIssuer.IssueAccess("ci", PullA).Token));
    }

    [Fact]
    public async Task RefreshToken_NeverPassesForAnAccessToken_NorTheReverse()
    {
        var (tokens, _) = Create();
        Assert.Null(await tokens.ValidateAccessAsync(tokens.IssueRefresh("ci")));
        Assert.Null(await tokens.ValidateRefreshAsync(tokens.IssueAccess("ci", PullA).Token));
        Assert.Equal("ci", (await tokens.ValidateRefreshAsync(tokens.IssueRefresh("ci")))?.Subject);
    }

    [Fact]
    public async Task KeyRotation_TokensOfThePreviousKeyStillValidate_OthersDoNot()
    {
        var oldPem = Pem();
        var (old, _) = Create(pem: oldPem);
        using var oldKey = ECDsa.Create();
        oldKey.ImportFromPem(oldPem);
        var (rotated, _) = Create(o => o.VerificationKeysPem = [oldKey.ExportSubjectPublicKeyInfoPem()]);
        var (stranger, _) = Create();
        Assert.NotNull(await rotated.ValidateAccessAsync(old.IssueAccess("ci", PullA).Token));
        Assert.Null(await rotated.ValidateAccessAsync(stranger.IssueAccess("ci", PullA).Token));
    }

    [Fact]
    public async Task Row43_AlgNone_IsRejected()
    {
        var (tokens, _) = Create();
        var genuine = tokens.IssueAccess("ci", PullA).Token.Split('.');
        var header = Base64UrlEncoder.Encode("""{"alg":"none","typ":"JWT"}""");
        Assert.Null(await tokens.ValidateAccessAsync($"{header}.{genuine[1]}."));
    }

    [Fact]
    public async Task Row43_Hs256SignedWithOurPublicKey_IsRejected()
    {
        var pem = Pem();
        var (tokens, _) = Create(pem: pem);
        using var key = ECDsa.Create();
        key.ImportFromPem(pem);
        var genuine = tokens.IssueAccess("ci", PullA).Token.Split('.');
        var header = Base64UrlEncoder.Encode("""{"alg":"HS256","typ":"JWT"}""");
        var signature = HMACSHA256.HashData(key.ExportSubjectPublicKeyInfo(), Encoding.ASCII.GetBytes($"{header}.{genuine[1]}"));
        Assert.Null(await tokens.ValidateAccessAsync($"{header}.{genuine[1]}.{Base64UrlEncoder.Encode(signature)}"));
    }

    [Fact]
    public async Task Row44_EmbeddedJwkOrJku_IsNeverTrusted()
    {
        var (tokens, _) = Create();
        using var attacker = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var p = attacker.ExportParameters(false);
        var genuine = tokens.IssueAccess("ci", PullA).Token.Split('.');
        var header = Base64UrlEncoder.Encode(
            $$$"""{"alg":"ES256","typ":"JWT","jku":"http://127.0.0.1:1/keys","jwk":{"kty":"EC","crv":"P-256","x":"{{{Base64UrlEncoder.Encode(p.Q.X)}}}","y":"{{{Base64UrlEncoder.Encode(p.Q.Y)}}}"}}""");
        var signed = attacker.SignData(Encoding.ASCII.GetBytes($"{header}.{genuine[1]}"), HashAlgorithmName.SHA256);
        Assert.Null(await tokens.ValidateAccessAsync($"{header}.{genuine[1]}.{Base64UrlEncoder.Encode(signed)}"));
    }

    [Fact]
    public async Task Row45_HugeOrDotFloodedTokens_AreRejectedQuickly()
    {
        var (tokens, _) = Create();
        Assert.Null(await tokens.ValidateAccessAsync(new string('.', 100_000)));
        Assert.Null(await tokens.ValidateAccessAsync(new string('a', 1_000_000)));
    }
}
