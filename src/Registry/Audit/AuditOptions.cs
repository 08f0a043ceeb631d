namespace Registry.Audit;

/// <summary>Audit settings (configuration section <c>Audit</c>).</summary>
public sealed class AuditOptions
{
    public const string Section = "Audit";

    public bool Enabled { get; set; } = true;

    /// <summary>The share of manifest pulls recorded (0 to 1); pushes, deletes, token issues and denials are always recorded.</summary>
    public double PullSampleRate { get; set; } = 1.0;
}
