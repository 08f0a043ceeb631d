using System.Reflection;
using Registry.Oci;

namespace Registry.Tests.Architecture;

/// <summary>
/// One result type from the stores (issue #12; the rule is on <see cref="Outcome{T}"/>): a store change that can be
/// refused answers <see cref="Outcome{T}"/>, never a bare <see cref="OciError"/> (null for success), and no expected
/// refusal leaves a store as an exception for the HTTP layer to catch.
/// </summary>
public sealed class StoreResultTests
{
    private const BindingFlags Declared = BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    /// <summary>Exceptions a store may let out: faults of storage itself, which the HTTP layer answers with 503.</summary>
    private static readonly string[] Faults = ["StorageDeadlineExceededException"];

    [Fact]
    public void EveryPublicStoreMethod_AnswersARefusalAsAnOutcome()
    {
        Assert.Empty(Offenders(StoreTypes()));
    }

    [Fact]
    public void NoStoreDeclaresAPublicExceptionForAnExpectedRefusal()
    {
        var exceptions = StoreTypes().Where(t => typeof(Exception).IsAssignableFrom(t) && !Faults.Contains(t.Name)).Select(t => t.FullName);
        Assert.Empty(exceptions);
    }

    [Fact]
    public void TheCheck_FindsAMethodThatAnswersABareError()
    {
        Assert.Equal(["RefusingSample.DeleteAsync"], Offenders([typeof(RefusingSample)]));
    }

    private static IEnumerable<Type> StoreTypes() =>
        typeof(Digest).Assembly.GetTypes().Where(t => t.IsPublic && t.Namespace?.StartsWith("Registry.Storage", StringComparison.Ordinal) == true);

    private static List<string> Offenders(IEnumerable<Type> types) =>
        [.. from type in types
            from method in type.GetMethods(Declared)
            where Unwrapped(method.ReturnType) == typeof(OciError)
            select $"{type.Name}.{method.Name}"];

    /// <summary>The type a method's caller gets: T of Task&lt;T&gt; or ValueTask&lt;T&gt;, else the return type.</summary>
    private static Type Unwrapped(Type returned) =>
        returned.IsGenericType && (returned.GetGenericTypeDefinition() == typeof(Task<>) || returned.GetGenericTypeDefinition() == typeof(ValueTask<>))
            ? returned.GetGenericArguments()[0]
            : returned;

    /// <summary>The shape the stores had: null for done, an error for refused.</summary>
    public static class RefusingSample
    {
        public static Task<OciError?> DeleteAsync() => Task.FromResult<OciError?>(null);

        public static Task<Outcome<Done>> UnlinkAsync() => Task.FromResult<Outcome<Done>>(new Done());
    }
}
