/** Request bodies of the workloads, built once per run. */

/** The seed's example body (the upstream OpenAPI excerpt of POST /v1/users/bulk_identify): two users. */
export const SEED_BODY = {
  users: [
    {
      user_id: 'user_123',
      company_id: 'comp_techstartup_2024',
      metadata: {
        name: 'John Smith',
        email: 'john.smith@techstartup.com',
        job_title: 'Support Manager',
        tickets_created: '2024-01-15T08:00:00Z',
        tickets_resolved: '2024-01-15T16:30:00Z',
        tickets_pending: 3,
        avg_resolution_time: 3.25,
        customer_satisfaction: '95%',
        escalation_count: 10
      }
    },
    {
      user_id: 'user_456',
      company_id: 'comp_techstartup_2024',
      metadata: {
        name: 'Emma Davis',
        email: 'emma.davis@techstartup.com',
        job_title: 'Support Specialist',
        tickets_created: '2024-01-15T09:15:00Z',
        tickets_resolved: '2024-01-15T17:45:00Z',
        tickets_pending: 5,
        avg_resolution_time: 4.5,
        customer_satisfaction: '92%',
        escalation_count: 8
      }
    }
  ]
}

/**
 * `count` users shaped like the seed's (about 250 bytes each: 7 metadata
 * fields of strings and numbers), ids from `offset` on, so that bodies of
 * 1,000 and 10,000 users weigh about 250 KB and 2.5 MB.
 */
export function usersBody (count: number, offset = 0, tag = 'a'): string {
  const users = new Array(count)
  for (let index = 0; index < count; index++) {
    const id = offset + index
    users[index] = {
      user_id: `user_${id}`,
      company_id: `comp_${id % 500}`,
      metadata: {
        name: `User Number ${id}`,
        email: `user.${id}@techstartup.example.com`,
        job_title: id % 2 === 0 ? 'Support Manager' : 'Support Specialist',
        tickets_created: '2024-01-15T08:00:00Z',
        tickets_pending: id % 17,
        avg_resolution_time: (id % 100) / 8,
        batch: tag
      }
    }
  }
  return JSON.stringify({ users })
}

/** `count` users with exactly five metadata fields (the memory workload), ids from `offset` on. */
export function fiveFieldUsersBody (count: number, offset: number): string {
  const users = new Array(count)
  for (let index = 0; index < count; index++) {
    const id = offset + index
    users[index] = {
      user_id: `user_${id}`,
      company_id: `comp_${id % 1000}`,
      metadata: { name: `User ${id}`, email: `user.${id}@example.com`, plan: id % 3 === 0 ? 'pro' : 'free', seats: id % 50, active: id % 2 === 0 }
    }
  }
  return JSON.stringify({ users })
}

/** A completed job's status as GET /v1/background_jobs/:job_id answers it (the baseline's static W4 answer, of the same size). */
export function staticJobStatus (): Record<string, unknown> {
  return {
    job_id: 'bulk:jobs:NX-1a2b3c4d:6f1c2d3e-4a5b-4c6d-8e7f-901a2b3c4d5e',
    status: 'completed',
    total_rows: 2,
    completed_rows: 2,
    elapsed_time: 0,
    file_size: 1043,
    filename: 'bulk_identify_users_6f1c2d3e-4a5b-4c6d-8e7f-901a2b3c4d5e.json',
    type: 'users',
    links: 'http://127.0.0.1:3000/v1/background_jobs/bulk%3Ajobs%3ANX-1a2b3c4d%3A6f1c2d3e-4a5b-4c6d-8e7f-901a2b3c4d5e',
    start_time: '2026-01-01T00:00:00.000Z',
    submitted_at: '2026-01-01T00:00:00.000Z',
    end_time: '2026-01-01T00:00:00.004Z'
  }
}
