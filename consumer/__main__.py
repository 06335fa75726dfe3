from consumer.cli import consume_main

consume_main()
