using System.Net;
using System.Net.Sockets;

namespace Registry.Benchmarks.Processes;

internal static class LocalPorts
{
    /// <summary>A loopback port free right now; the process given it binds it a moment later.</summary>
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
