namespace RnnService.Api.Tests.Infrastructure;

public static class ThreadPools
{
    /// <summary>
    /// Runs <paramref name="body"/> with at least 16 thread-pool threads ready. An engine call blocks a pool thread for its
    /// whole length; on 2 cores the pool then takes seconds to add one, and a next request would not even reach the queue
    /// while a long one runs (README, Known limits). Tests about the queue must not be about the pool's growth.
    /// </summary>
    public static async Task WithThreadsForQueuedRequestsAsync(Func<Task> body)
    {
        ThreadPool.GetMinThreads(out var workers, out var ports);
        ThreadPool.SetMinThreads(Math.Max(workers, 16), ports);
        try
        {
            await body();
        }
        finally
        {
            ThreadPool.SetMinThreads(workers, ports);
        }
    }
}
