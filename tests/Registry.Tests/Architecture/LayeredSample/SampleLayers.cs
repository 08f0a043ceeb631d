// Deliberate violations for DependencyTests: a tiny layered "application" whose lower layer uses its upper one,
// once through a using-free fully qualified name in a method body and once in a signature.
namespace Registry.Tests.Architecture.LayeredSample.Http
{
    public sealed class SampleHandler
    {
        public static string Route => "/v2/";
    }
}

namespace Registry.Tests.Architecture.LayeredSample.Storage
{
    public sealed class SampleStore
    {
        public static int RouteLength() => Registry.Tests.Architecture.LayeredSample.Http.SampleHandler.Route.Length;
    }

    public sealed class SampleStoreWithSignature
    {
        public static Registry.Tests.Architecture.LayeredSample.Http.SampleHandler? Handler() => null;
    }

    public sealed class SampleClean
    {
        public static int Answer() => 42;
    }
}
