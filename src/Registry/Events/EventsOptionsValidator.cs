using Microsoft.Extensions.Options;

namespace Registry.Events;

/// <summary>Checks the <c>Events</c> settings at start and reports every problem, each with the setting and the fix.</summary>
public sealed class EventsOptionsValidator : IValidateOptions<EventsOptions>
{
    public ValidateOptionsResult Validate(string? name, EventsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = new List<string>();
        for (var i = 0; i < options.Webhooks.Count; i++)
        {
            if (TargetAddresses.Problem(options.Webhooks[i].Url, options.AllowPrivateTargets) is { } problem)
            {
                problems.Add($"Events:Webhooks:{i}:Url: {problem}");
            }
        }
        if (options.TopicEndpoint is { } topic && (!topic.IsAbsoluteUri || (topic.Scheme != Uri.UriSchemeHttps && !options.AllowPrivateTargets)))
        {
            problems.Add("Events:TopicEndpoint must be the topic's https:// endpoint");
        }
        if (options.MaxAttempts < 1)
        {
            problems.Add("Events:MaxAttempts must be at least 1");
        }
        if (options.RetryBase <= TimeSpan.Zero || options.RetryMax < options.RetryBase)
        {
            problems.Add("Events:RetryBase must be positive and Events:RetryMax at least as long");
        }
        if (options.BatchWindow < TimeSpan.Zero || options.BatchWindow > TimeSpan.FromSeconds(30))
        {
            problems.Add("Events:BatchWindow must be between 00:00:00 and 00:00:30 (the delay it may add to an event)");
        }
        if (options.SendTimeout <= TimeSpan.Zero)
        {
            problems.Add("Events:SendTimeout must be positive");
        }
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
