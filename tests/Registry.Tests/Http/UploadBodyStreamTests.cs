using System.IO.Pipelines;
using Registry.Http;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Http;

/// <summary>
/// An upload body ends where the client stops sending: a read that waits the idle timeout without a byte returns the
/// end of the body; time between reads, while the registry stages, never counts.
/// </summary>
public sealed class UploadBodyStreamTests
{
    private static readonly TimeSpan Idle = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task AReadThatWaitsTheIdleTimeoutWithoutAByte_EndsTheBody_ForGood()
    {
        var pipe = new Pipe();
        var clock = new ManualTimers();
        using var body = new UploadBodyStream(pipe.Reader, Idle, clock);
        var buffer = new byte[16];
        await pipe.Writer.WriteAsync(new byte[] { 1, 2, 3 });

        Assert.Equal(3, await body.ReadAsync(buffer));
        var waiting = body.ReadAsync(buffer).AsTask();
        clock.Advance(Idle - TimeSpan.FromSeconds(1));
        Assert.False(waiting.IsCompleted);
        clock.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(0, await waiting);
        Assert.Equal(BodyStall.Idle, body.Stall);
        await pipe.Writer.WriteAsync(new byte[] { 4 });
        Assert.Equal(0, await body.ReadAsync(buffer));
    }

    [Fact]
    public async Task OnlyTimeAReadWaits_Counts_NotTimeBetweenReads()
    {
        var pipe = new Pipe();
        var clock = new ManualTimers();
        using var body = new UploadBodyStream(pipe.Reader, Idle, clock);
        var buffer = new byte[16];

        var first = body.ReadAsync(buffer).AsTask();
        Assert.Equal(1, clock.Armed);
        clock.Advance(Idle / 2);
        await pipe.Writer.WriteAsync(new byte[] { 1 });
        Assert.Equal(1, await first);
        Assert.Equal(0, clock.Armed);

        // Staging that takes ten idle timeouts between two reads.
        clock.Advance(Idle * 10);
        var second = body.ReadAsync(buffer).AsTask();
        clock.Advance(Idle / 2);
        Assert.False(second.IsCompleted);
        await pipe.Writer.WriteAsync(new byte[] { 2, 3 });

        Assert.Equal(2, await second);
        Assert.Equal(BodyStall.None, body.Stall);
    }

    [Fact]
    public async Task BytesAlreadyReceived_AreReadWithoutATimer_AtMostABufferAtATime_AndTheEndIsNoStall()
    {
        var pipe = new Pipe();
        var clock = new ManualTimers();
        using var body = new UploadBodyStream(pipe.Reader, Idle, clock);
        await pipe.Writer.WriteAsync(Enumerable.Range(0, 100).Select(i => (byte)i).ToArray());
        await pipe.Writer.CompleteAsync();
        var buffer = new byte[64];

        Assert.Equal(64, await body.ReadAsync(buffer));
        Assert.Equal(63, buffer[63]);
        Assert.Equal(36, await body.ReadAsync(buffer));
        Assert.Equal(99, buffer[35]);
        Assert.Equal(0, await body.ReadAsync(buffer));
        Assert.Equal(0, clock.Armed);
        Assert.Equal(BodyStall.None, body.Stall);
    }
}
