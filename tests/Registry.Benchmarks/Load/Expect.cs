using System.Net;

namespace Registry.Benchmarks.Load;

/// <summary>A benchmark measures only what succeeded: any other answer stops the run with what the registry said.</summary>
internal static class Expect
{
    public static async Task StatusAsync(HttpResponseMessage response, HttpStatusCode expected, string what)
    {
        if (response.StatusCode != expected)
        {
            var body = await response.Content.ReadAsStringAsync();
            throw new InvalidOperationException(
                $"{what}: {response.RequestMessage?.Method} {response.RequestMessage?.RequestUri} answered {(int)response.StatusCode}, expected {(int)expected}: {body[..Math.Min(body.Length, 500)]}");
        }
    }
}
