using Azure;
using Azure.Data.Tables;

namespace Registry.Storage;

/// <summary>
/// One partition of table <c>policies</c> (what an operator sets: quotas, immutability rules, repository locks):
/// rows written whole, and read by every instance through a copy reloaded at most every <see cref="RefreshInterval"/>,
/// so a change made elsewhere applies on every instance within that time, one made through this instance at once.
/// </summary>
/// <typeparam name="T">What a row says; <c>read</c> returns null for a row it cannot read, which is skipped.</typeparam>
public sealed class PolicyPartition<T> : IDisposable
    where T : class
{
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(10);

    private readonly StorageClients _clients;
    private readonly string _partition;
    private readonly string[] _columns;
    private readonly Func<TableEntity, T?> _read;
    private readonly RefreshingCopy<IReadOnlyList<T>> _copy;

    /// <param name="columns">The properties <paramref name="read"/> needs besides RowKey.</param>
    public PolicyPartition(StorageClients clients, string partition, IEnumerable<string> columns, Func<TableEntity, T?> read, TimeProvider time)
    {
        _clients = clients;
        _partition = partition;
        _columns = ["RowKey", .. columns];
        _read = read;
        _copy = new RefreshingCopy<IReadOnlyList<T>>(ReadAsync, RefreshInterval, time);
    }

    /// <summary>Writes <paramref name="row"/> (its RowKey and properties) into the partition, replacing a row of the same key.</summary>
    public async Task WriteAsync(TableEntity row, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(row);
        row.PartitionKey = _partition;
        await _clients.PoliciesTable.UpsertEntityAsync(row, TableUpdateMode.Replace, cancellationToken);
        _copy.Changed();
    }

    /// <summary>Removes the row <paramref name="rowKey"/>: true when there was one.</summary>
    public async Task<bool> DeleteAsync(string rowKey, CancellationToken cancellationToken)
    {
        var response = await _clients.PoliciesTable.DeleteEntityAsync(_partition, rowKey, ETag.All, cancellationToken);
        _copy.Changed();
        return response.Status != 404;
    }

    /// <summary>The rows, read from storage now, in key order.</summary>
    public async Task<IReadOnlyList<T>> ReadAsync(CancellationToken cancellationToken)
    {
        var rows = new List<T>();
        await foreach (var entity in _clients.PoliciesTable.QueryAsync<TableEntity>(
            e => e.PartitionKey == _partition, select: _columns, cancellationToken: cancellationToken))
        {
            if (_read(entity) is { } row)
            {
                rows.Add(row);
            }
        }
        return rows;
    }

    /// <summary>The rows, from the copy.</summary>
    public ValueTask<IReadOnlyList<T>> CopyAsync(CancellationToken cancellationToken) => _copy.GetAsync(cancellationToken);

    public void Dispose() => _copy.Dispose();
}
