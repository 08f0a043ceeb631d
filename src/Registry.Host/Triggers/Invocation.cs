using System.Text.Json;
using System.Text.Json.Serialization;
using Registry.Jobs;

namespace Registry.Host.Triggers;

/// <summary>
/// What the Functions host POSTs to a custom handler for a non-HTTP trigger: the trigger's data under its binding
/// name (<c>timer</c>, <c>message</c>) and the trigger metadata.
/// </summary>
public sealed record InvocationRequest(Dictionary<string, JsonElement>? Data, Dictionary<string, JsonElement>? Metadata);

/// <summary>
/// The answer the host expects: output bindings (none here), log lines it writes into the invocation's log, and the
/// return value it records. A non-2xx status tells the host the invocation failed (a queue message is retried).
/// </summary>
public sealed record InvocationResponse(Dictionary<string, JsonElement> Outputs, IReadOnlyList<string> Logs, JobReport? ReturnValue);

[JsonSourceGenerationOptions(PropertyNameCaseInsensitive = true)]
[JsonSerializable(typeof(InvocationRequest))]
[JsonSerializable(typeof(InvocationResponse))]
internal sealed partial class InvocationJson : JsonSerializerContext;
