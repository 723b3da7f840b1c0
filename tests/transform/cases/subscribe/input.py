"""A worker: every message of the jobs queue to a handler, in each import form of subscribe."""
import infrar.messaging as mq
from infrar.messaging import subscribe, send_message


def handle(job):
    print('job', job['n'])


def drain(n):
    # stop after n messages; the count is the value of the call
    handled = subscribe('jobs', handle, max_messages=n)
    return handled


class Worker:
    def run(self):
        mq.subscribe(queue='jobs',
                     handler=lambda job: print(job))  # forever


if __name__ == '__main__':
    send_message('jobs', {'n': 1})
    drain(1)
