"""The subscribe check (tests/transform/subscribe.sh): five jobs sent, a subscription whose
handler fails on the third (the first two are acknowledged, the third and the rest of its batch
released and the handler's error raised), then one that handles the three left, in order, and
returns the count; nothing is left. Runs through the infrar SDK or after `cratis transform`."""
from infrar import messaging
from infrar.messaging import subscribe


class Boom(Exception):
    pass


def fail_on_third(job):
    print('handling', job['n'])
    if job['n'] == 3:
        raise Boom('job 3')


def main():
    for n in range(1, 6):
        messaging.send_message('jobs', {'n': n})
    try:
        subscribe('jobs', fail_on_third, max_messages=10)
    except Boom as e:
        print('handler raised', type(e).__name__, e)
    seen = []
    count = subscribe(queue='jobs',
                      handler=lambda job: seen.append(job['n']),
                      max_messages=3)
    print('second subscription handled', count, seen)
    print('left', messaging.receive_messages('jobs', max_count=10))


if __name__ == '__main__':
    main()
