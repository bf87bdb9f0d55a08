module github.com/chutesai/chutes-rpc/clients/go

go 1.19
