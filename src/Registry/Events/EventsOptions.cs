namespace Registry.Events;

/// <summary>Where the registry's events go, and how it retries (configuration section <c>Events</c>).</summary>
public sealed class EventsOptions
{
    public const string Section = "Events";

    /// <summary>The Event Grid topic's endpoint (<c>https://&lt;topic&gt;.&lt;region&gt;-1.eventgrid.azure.net/api/events</c>), reached with the app's identity.</summary>
    public Uri? TopicEndpoint { get; set; }

    /// <summary>An access key for an Event-Grid-compatible endpoint (tests, emulators); unset, the identity is used.</summary>
    public string? TopicKey { get; set; }

    /// <summary>Webhook targets: each receives every event as a CloudEvents batch, signed when it has a secret.</summary>
    public List<WebhookOptions> Webhooks { get; set; } = [];

    /// <summary>Lets webhook targets be loopback, link-local or private addresses: for local development only.</summary>
    public bool AllowPrivateTargets { get; set; }

    /// <summary>The CloudEvents <c>source</c> of every event (ACR sets its registry's resource id); unset, the registry's public URL.</summary>
    public string? Source { get; set; }

    /// <summary>How many times a sink may reject an event (a 4xx other than 408 and 429) before it is dead-lettered.</summary>
    public int MaxAttempts { get; set; } = 5;

    /// <summary>The first wait after a failed publish; it doubles up to <see cref="RetryMax"/> (a <c>Retry-After</c> wins when longer).</summary>
    public TimeSpan RetryBase { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan RetryMax { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How long published events are kept (for <c>registry-admin events</c> and replay).</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>
    /// The least time between the starts of two drains of one repository on one instance: a change that comes sooner
    /// waits for the rest of it, so a repository pushed to often publishes several events with one lease, one read of
    /// its outbox, one call per sink and one transaction of moves. A change to a repository quiet for longer publishes
    /// at once. Zero drains on every change.
    /// </summary>
    public TimeSpan BatchWindow { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Deadline of one publish call to a sink.</summary>
    public TimeSpan SendTimeout { get; set; } = TimeSpan.FromSeconds(10);

    public bool Enabled => TopicEndpoint is not null || Webhooks.Count > 0;
}

/// <summary>One webhook target.</summary>
public sealed class WebhookOptions
{
    public Uri? Url { get; set; }

    /// <summary>Extra headers sent with every delivery (an API key of the receiver, for instance).</summary>
    public Dictionary<string, string> Headers { get; set; } = [];

    /// <summary>When set, each body is signed: <c>X-Registry-Signature-256: sha256=&lt;hex HMAC-SHA256 of the body&gt;</c>.</summary>
    public string? Secret { get; set; }
}
