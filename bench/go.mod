module github.com/coldtransfer/coldtransfer/bench

go 1.26.0

require (
	github.com/coldtransfer/coldtransfer v0.0.0
	github.com/prometheus/common v0.72.0
	github.com/slack-go/slack v0.35.0
)

require (
	github.com/gorilla/websocket v1.5.3 // indirect
	github.com/munnerz/goautoneg v0.0.0-20191010083416-a7dc8b61c822 // indirect
	github.com/prometheus/client_model v0.6.3 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)

replace github.com/coldtransfer/coldtransfer => ../
