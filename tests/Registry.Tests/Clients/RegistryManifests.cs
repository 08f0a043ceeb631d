using System.Net;
using System.Net.Http.Headers;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Clients;

/// <summary>Asks the registry itself which manifest a tag names, accepting every manifest type the clients push.</summary>
public static class RegistryManifests
{
    private static readonly string[] Accepted =
    [
        OciTestClient.OciManifest,
        OciTestClient.OciIndex,
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    ];

    /// <summary>
    /// Sends <paramref name="method"/> (GET or HEAD) for the manifest and returns its Docker-Content-Digest;
    /// for GET, also checks the body hashes to that digest.
    /// </summary>
    public static async Task<string> DigestAsync(HttpClient registry, HttpMethod method, string repository, string reference)
    {
        using var request = new HttpRequestMessage(method, $"/v2/{repository}/manifests/{reference}");
        foreach (var mediaType in Accepted)
        {
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(mediaType));
        }
        using var response = await registry.SendAsync(request);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{method} {request.RequestUri}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        var digest = response.Headers.GetValues("Docker-Content-Digest").Single();
        if (method == HttpMethod.Get)
        {
            Assert.Equal(digest, OciTestClient.DigestOf(await response.Content.ReadAsByteArrayAsync()));
        }
        return digest;
    }
}
