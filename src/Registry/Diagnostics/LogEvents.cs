namespace Registry.Diagnostics;

/// <summary>
/// The event ids of the registry's logs, one block of a hundred per class that logs, so an id names one message
/// wherever logs are collected (<c>[LoggerMessage(EventId = LogEvents.Faults + 1, ...)]</c>).
/// </summary>
public static class LogEvents
{
    /// <summary>OciFaultMiddleware.</summary>
    public const int Faults = 100;

    /// <summary>UploadHandlers.</summary>
    public const int Uploads = 200;

    /// <summary>StagingBuffers.</summary>
    public const int Staging = 300;

    /// <summary>StorageProbe.</summary>
    public const int StorageProbe = 400;

    /// <summary>StartupPreparation.</summary>
    public const int Preparation = 500;

    /// <summary>TokenDirectory.</summary>
    public const int TokenDirectory = 600;

    /// <summary>AuditWriter.</summary>
    public const int AuditWriter = 700;

    /// <summary>GarbageCollector.</summary>
    public const int Collection = 800;

    /// <summary>InProcessScheduler.</summary>
    public const int Scheduler = 900;

    /// <summary>TriggerEndpoints.</summary>
    public const int Triggers = 1000;

    /// <summary>EventDispatcher and the events sweep.</summary>
    public const int Events = 1100;

    /// <summary>RetentionRunner.</summary>
    public const int Retention = 1200;

    /// <summary>ReplicationEndpoint.</summary>
    public const int Replication = 1300;
}
