using Azure;
using Azure.Data.Tables;

namespace Registry.Storage;

/// <summary>The <c>Locked</c> property of <c>tag:</c> and <c>manifest:</c> rows (see <see cref="TableKeys"/>, "Moving a tag").</summary>
public static class RowLock
{
    /// <summary>How many times a lock is tried again after the row changed under it.</summary>
    public const int MaxAttempts = 10;

    /// <summary>
    /// Sets <c>Locked</c> on the row by a merge conditional on the row as read, so a move or delete that read the row
    /// before cannot commit after. False when there is no such row.
    /// </summary>
    public static async Task<bool> SetAsync(TableClient table, string partition, string row, bool locked, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var current = await table.GetEntityIfExistsAsync<TableEntity>(partition, row, ["RowKey"], cancellationToken);
            if (!current.HasValue)
            {
                return false;
            }
            try
            {
                // Unlocking writes false: a merge cannot remove a property, and false reads as unlocked.
                await table.UpdateEntityAsync(
                    new TableEntity(partition, row) { ["Locked"] = locked }, current.Value!.ETag, TableUpdateMode.Merge, cancellationToken);
                return true;
            }
            catch (RequestFailedException e) when (e.Status is 404 or 412 && attempt < MaxAttempts)
            {
                // Moved, pushed again or deleted meanwhile: decide again from what is there now.
            }
        }
    }
}
